package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// api is a signed-in API client.
type api struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newAPI(t *testing.T, base, password string) *api {
	c, csrf := apiSession(t, base, "admin@cspm.local", password)
	return &api{t: t, base: base, c: c, csrf: csrf}
}

func (a *api) do(method, path string, body any, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", a.csrf)
	res, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	if res.StatusCode >= 300 && out != nil {
		a.t.Logf("%s %s = %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode
}

type scanRun struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	StatusDetail string `json:"status_detail"`
	SubJobs      []struct {
		ID          string `json:"id"`
		Tool        string `json:"tool"`
		Status      string `json:"status"`
		Attempts    int    `json:"attempts"`
		Error       string `json:"error"`
		HasArtifact bool   `json:"has_artifact"`
		ItemsRead   int    `json:"items_read"`
	} `json:"subjobs"`
}

// waitRun polls GET /api/v1/scans/{id} until the run is final.
func (a *api) waitRun(id string, within time.Duration) scanRun {
	a.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var run scanRun
		if code := a.do("GET", "/api/v1/scans/"+id, nil, &run); code != 200 {
			a.t.Fatalf("GET scan = %d", code)
		}
		switch run.Status {
		case "completed", "partial", "failed", "cancelled":
			return run
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("scan still %s after %s: %+v", run.Status, within, run)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type findingList struct {
	Total    int `json:"total"`
	Findings []struct {
		Tool     string `json:"tool"`
		Title    string `json:"title"`
		Target   string `json:"target"`
		Location string `json:"location"`
		CheckID  string `json:"check_id"`
	} `json:"findings"`
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s is not installed", name)
	}
}

// Real Nmap against a port this test opens on loopback, end to end: the
// API starts the scan, the worker runs nmap, the report is imported, the
// findings and the unified history show it.
func TestNetworkScanWithRealNmap(t *testing.T) {
	t.Parallel()
	needTool(t, "nmap")
	port := webTarget(t)

	p, password := servePlatform(t)
	a := newAPI(t, p.url, password)
	var run scanRun
	if code := a.do("POST", "/api/v1/scans", map[string]any{"type": "network", "tool": "nmap", "targets": []string{"127.0.0.1"},
		"ports": fmt.Sprint(port)}, &run); code != 202 {
		t.Fatalf("start scan = %d", code)
	}
	done := a.waitRun(run.ID, 3*time.Minute)
	if done.Status != "completed" || len(done.SubJobs) != 1 || !done.SubJobs[0].HasArtifact {
		t.Fatalf("scan %+v", done)
	}
	var list findingList
	a.do("GET", "/api/v1/findings?scan="+run.ID, nil, &list)
	found := false
	for _, f := range list.Findings {
		found = found || f.Tool == "nmap" && strings.Contains(f.Location+f.Title+f.CheckID, fmt.Sprint(port))
	}
	if list.Total == 0 || !found {
		t.Fatalf("findings of the scan: %+v", list)
	}
	var history struct {
		Results []struct {
			ID       string `json:"id"`
			ScanType string `json:"scan_type"`
			Status   string `json:"status"`
			Source   string `json:"source"`
		} `json:"scan_results"`
	}
	// The run is mirrored into the history just after it finishes.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		a.do("GET", "/api/v1/scan-results", nil, &history)
		if len(history.Results) == 1 && history.Results[0].Status == "completed" || time.Now().After(deadline) {
			break
		}
	}
	if len(history.Results) != 1 || history.Results[0].ID != run.ID || history.Results[0].ScanType != "network" ||
		history.Results[0].Status != "completed" || history.Results[0].Source != "scan" {
		t.Fatalf("history %+v", history)
	}
	// The raw report is downloadable.
	req, _ := http.NewRequest("GET", p.url+"/api/v1/scans/"+run.ID+"/subjobs/"+done.SubJobs[0].ID+"/artifact", nil)
	res, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("<nmaprun")) {
		t.Fatalf("artifact %d: %.200s", res.StatusCode, body)
	}
}

// Real Wapiti against an HTTP server this test starts: the page sets none
// of the security headers, which Wapiti reports.
func TestWebScanWithRealWapiti(t *testing.T) {
	t.Parallel()
	needTool(t, "wapiti")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><body><h1>shop</h1><a href="/about">about</a></body></html>`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	target := "http://" + ln.Addr().String() + "/"

	p, password := servePlatform(t, "CSPM_WAPITI_MODULES=http_headers,csp", "CSPM_WAPITI_MAX_SCAN_TIME=120")
	a := newAPI(t, p.url, password)
	var run scanRun
	if code := a.do("POST", "/api/v1/scans", map[string]any{"type": "web", "tool": "wapiti", "targets": []string{target}}, &run); code != 202 {
		t.Fatalf("start scan = %d", code)
	}
	done := a.waitRun(run.ID, 4*time.Minute)
	if done.Status != "completed" {
		t.Fatalf("scan %+v", done)
	}
	var list findingList
	a.do("GET", "/api/v1/findings?scan="+run.ID, nil, &list)
	titles := ""
	for _, f := range list.Findings {
		titles += f.Title + "|"
	}
	if list.Total < 2 || !strings.Contains(titles, "Content Security Policy") {
		t.Fatalf("wapiti findings %d: %s", list.Total, titles)
	}
	// Starting a web scan of something that is not a URL is refused, and nothing is queued.
	if code := a.do("POST", "/api/v1/scans", map[string]any{"type": "web", "tool": "wapiti", "targets": []string{"--url=http://x"}}, nil); code != 422 {
		t.Fatalf("option-like target = %d, want 422", code)
	}
}

// A worker killed in the middle of a SubJob: another worker picks the job
// up (River's rescuer), and the run completes with exactly the findings of
// an undisturbed run. On SQLite (processes sharing the files) and on
// PostgreSQL.
func TestKilledWorkerIsReplacedWithoutDuplicates(t *testing.T) {
	t.Parallel()
	eachEngine(t, killedWorkerScenario)
}

func killedWorkerScenario(t *testing.T, engine string) {
	bin := t.TempDir()
	started := filepath.Join(t.TempDir(), "started")
	record := filepath.Join(t.TempDir(), "runs.jsonl")
	trivy := scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json"),
		SleepMS: 2500, Chatter: true, StartedFile: started, Record: record})
	grype := scannertest.Tool(t, bin, "grype", scannertest.Behaviour{Sample: scannertest.Sample(t, "grype/check_all_fields.json")})
	env := []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_TRIVY_BIN=" + trivy, "CSPM_GRYPE_BIN=" + grype,
		// A SubJob running longer than its timeout (scan_timeout and a
		// quarter, at least 30 s more) is presumed orphaned: short, so the
		// test need not wait hours.
		"CSPM_JOB_RESCUE_AFTER=6s", "CSPM_SCAN_TIMEOUT=8s", "CSPM_KEV_URL="}
	if engine == "postgres" {
		env = append(env, "CSPM_DATABASE_URL="+freshPostgresDatabase(t))
	}
	// The API takes no jobs: only the workers this test starts (and kills) do.
	p := start(t, append(env, "CSPM_ADDR=127.0.0.1:0"), "serve", "--no-workers")
	// The printed one-time password is replaced first: until then only the
	// admin's own account answers.
	a := newAPI(t, p.url, bootstrapPassword(t, p))
	w1 := start(t, env, "worker")

	scan := func(target string) scanRun {
		var run scanRun
		if code := a.do("POST", "/api/v1/scans", map[string]any{"type": "container", "tools": []string{"trivy", "grype"},
			"targets": []string{target}}, &run); code != 202 {
			t.Fatalf("start = %d", code)
		}
		return run
	}
	fingerprints := func(runID string) map[string]bool {
		var list struct {
			Total    int `json:"total"`
			Findings []struct {
				Fingerprint string `json:"fingerprint"`
			} `json:"findings"`
		}
		a.do("GET", "/api/v1/findings?limit=500&scan="+runID, nil, &list)
		out := map[string]bool{}
		for _, f := range list.Findings {
			out[f.Fingerprint] = true
		}
		if len(out) != list.Total {
			t.Fatalf("%d findings listed, total %d", len(out), list.Total)
		}
		return out
	}

	// The undisturbed run.
	ref := a.waitRun(scan("registry.example/shop:1.4").ID, 2*time.Minute)
	want := fingerprints(ref.ID)
	if ref.Status != "completed" || len(want) == 0 {
		t.Fatalf("reference run %+v, %d findings", ref, len(want))
	}
	_ = os.Remove(started)

	// The disturbed run: the worker dies while Trivy runs.
	run := scan("registry.example/shop:1.5")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("trivy never started")
		}
	}
	w1.stop(syscall.SIGKILL, 10*time.Second)
	// Its tool goes with it, as it would with the worker's container.
	runs := scannertest.Runs(t, record)
	_ = syscall.Kill(-runs[len(runs)-1].PGID, syscall.SIGKILL)
	var mid scanRun
	a.do("GET", "/api/v1/scans/"+run.ID, nil, &mid)
	if mid.Status == "completed" {
		t.Fatal("the run completed before the worker was killed")
	}

	w2 := start(t, env, "worker")
	done := a.waitRun(run.ID, 3*time.Minute)
	if done.Status != "completed" {
		t.Fatalf("after the rescue: %+v", done)
	}
	for _, sj := range done.SubJobs {
		if sj.Tool == "trivy" && sj.Attempts < 2 {
			t.Fatalf("trivy ran %d time(s): no rescue happened", sj.Attempts)
		}
	}
	got := fingerprints(run.ID)
	if len(got) != len(want) {
		t.Fatalf("%d findings after the rescue, %d undisturbed", len(got), len(want))
	}
	for fp := range want {
		if !got[fp] {
			t.Fatalf("finding %s missing after the rescue", fp)
		}
	}
	var all struct {
		Total int `json:"total"`
	}
	a.do("GET", "/api/v1/findings?limit=1&status=open,reopened,resolved,muted", nil, &all)
	if all.Total != len(want) {
		t.Fatalf("the team holds %d findings, want %d: duplicates", all.Total, len(want))
	}
	w2.stop(syscall.SIGTERM, 30*time.Second)
}

// A cloud scan through the API with a stand-in Prowler, then the secret
// key rotated with `cspm secrets rotate-key`: the credentials work under
// the new key and under no other. No answer, log line or database file
// holds the secret in plain text.
func TestCloudScanSecretsAndKeyRotation(t *testing.T) {
	t.Parallel()
	const secret = "wJalrXUtnFEMI/K7MDENG/e2eSECRETe2eSECRET"
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "runs.jsonl")
	prowler := scannertest.Tool(t, bin, "prowler", scannertest.Behaviour{Sample: scannertest.Sample(t, "prowler/example_output_aws.ocsf.json"),
		ExitCode: 3, Record: record})
	dataDir := t.TempDir()
	env := []string{"CSPM_DATA_DIR=" + dataDir, "CSPM_PROWLER_BIN=" + prowler, "CSPM_KEV_URL=", "CSPM_LOG_LEVEL=debug"}
	p, password := servePlatform(t, env...)
	a := newAPI(t, p.url, password)

	var acct struct {
		ID             string `json:"id"`
		CredentialHint string `json:"credential_hint"`
	}
	if code := a.do("POST", "/api/v1/cloud/accounts", map[string]any{"provider": "aws", "account_uid": "111122223333", "alias": "prod",
		"regions": []string{"us-east-1"}, "credentials": map[string]string{"type": "access_keys", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
			"secret_access_key": secret}}, &acct); code != 201 {
		t.Fatalf("create account = %d", code)
	}
	var sr scanRun
	if code := a.do("POST", "/api/v1/cloud/scan", map[string]any{"account_id": acct.ID, "tools": []string{"prowler"}}, &sr); code != 202 {
		t.Fatalf("scan = %d", code)
	}
	if done := a.waitRun(sr.ID, 2*time.Minute); done.Status != "completed" {
		t.Fatalf("scan %+v", done)
	}
	// Every answer that talks about the account, raw.
	for _, path := range []string{"/api/v1/cloud/accounts", "/api/v1/cloud/accounts/" + acct.ID, "/api/v1/scans/" + sr.ID, "/api/v1/scans",
		"/api/v1/scan-results", "/api/v1/audit?limit=500", "/api/v1/findings?scan=" + sr.ID} {
		req, _ := http.NewRequest("GET", p.url+path, nil)
		res, err := a.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte("AKIAIOSFODNN7EXAMPLE")) {
			t.Fatalf("GET %s = %d, holds the credentials: %v", path, res.StatusCode, bytes.Contains(body, []byte(secret)))
		}
	}
	p.stop(syscall.SIGTERM, 30*time.Second)
	if strings.Contains(p.stderr.String()+p.stdout.String(), secret) {
		t.Fatal("the logs hold the secret")
	}
	assertNoSecretInFiles(t, dataDir, secret)
	if runs := scannertest.Runs(t, record); len(runs) != 1 || !slices.Contains(runs[0].Env, "AWS_SECRET_ACCESS_KEY="+secret) {
		t.Fatal("the tool did not get the credentials")
	}

	// Rotate the key; the new key opens the credentials.
	newKey := filepath.Join(t.TempDir(), "new.key")
	code, out, stderr := run(t, env, "secrets", "rotate-key", "--new-key-file", newKey)
	if code != 0 || !strings.Contains(out, "resealed 1 cloud credential(s)") {
		t.Fatalf("rotate-key exit %d: %s %s", code, out, stderr)
	}
	p2 := start(t, append(env, "CSPM_ADDR=127.0.0.1:0", "CSPM_SECRET_KEY_FILE="+newKey), "serve")
	a2 := newAPI(t, p2.url, password)
	if code := a2.do("POST", "/api/v1/cloud/scan", map[string]any{"account_id": acct.ID, "tools": []string{"prowler"}}, &sr); code != 202 {
		t.Fatalf("scan after rotation = %d", code)
	}
	if done := a2.waitRun(sr.ID, 2*time.Minute); done.Status != "completed" {
		t.Fatalf("scan after rotation %+v", done)
	}
	p2.stop(syscall.SIGTERM, 30*time.Second)
	// The old key opens nothing: the SubJob fails, saying so, without the secret.
	p3 := start(t, append(env, "CSPM_ADDR=127.0.0.1:0"), "serve")
	a3 := newAPI(t, p3.url, password)
	if code := a3.do("POST", "/api/v1/cloud/scan", map[string]any{"account_id": acct.ID, "tools": []string{"prowler"}}, &sr); code != 202 {
		t.Fatalf("scan with the old key = %d", code)
	}
	done := a3.waitRun(sr.ID, 2*time.Minute)
	if done.Status != "failed" || !strings.Contains(done.SubJobs[0].Error, "cannot open sealed value") || done.SubJobs[0].Attempts != 1 {
		t.Fatalf("old key: %+v", done)
	}
	if runs := scannertest.Runs(t, record); len(runs) != 2 {
		t.Fatalf("the tool ran %d times, want 2", len(runs))
	}
}

// assertNoSecretInFiles reads every file under dir (databases, their
// write-ahead logs, artifacts) for the secret.
func assertNoSecretInFiles(t *testing.T, dir, secret string) {
	t.Helper()
	files := 0
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%s holds the secret in plain text", path)
		}
		return nil
	})
	if files < 5 {
		t.Fatalf("read only %d files under %s", files, dir)
	}
}
