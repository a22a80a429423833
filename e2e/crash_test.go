package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// cspm serve killed with SIGKILL during a scan and during an import, then
// started again on the same data: the scan run finishes and the import
// ends whole, with no partial import visible and no run left running.
// Before, the jobs a killed process held stayed "running" until River's
// rescue delay, an hour, and the run blocked its account's next scans.
func TestKillDuringScanAndImportThenRestart(t *testing.T) {
	t.Parallel()
	eachEngine(t, crashScenario)
}

func crashScenario(t *testing.T, engine string) {
	bin := t.TempDir()
	started := t.TempDir() + "/started"
	trivy := scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json"),
		SleepMS: 3000, StartedFile: started})
	grype := scannertest.Tool(t, bin, "grype", scannertest.Behaviour{Sample: scannertest.Sample(t, "grype/check_all_fields.json")})
	env := []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_ADDR=127.0.0.1:0", "CSPM_TRIVY_BIN=" + trivy, "CSPM_GRYPE_BIN=" + grype}
	if engine == "postgres" {
		env = append(env, "CSPM_DATABASE_URL="+freshPostgresDatabase(t))
	}
	p := start(t, env, "serve")
	password := bootstrapPassword(t, p)
	a := newAPI(t, p.url, password)

	// A scan whose Trivy is running when the server dies.
	var run scanRun
	if code := a.do("POST", "/api/v1/scans", map[string]any{"type": "container", "tools": []string{"trivy"},
		"targets": []string{"registry.example/crash:1"}}, &run); code != 202 {
		t.Fatalf("start scan = %d", code)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("trivy never started")
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(10 * time.Second)

	// Start again: the orphaned SubJob runs again at once.
	p = start(t, env, "serve")
	a = newAPI(t, p.url, password)
	if done := a.waitRun(run.ID, 60*time.Second); done.Status != "completed" {
		t.Fatalf("the scan after the restart ended %s: %+v", done.Status, done)
	}

	// An import of a large report, killed while it runs.
	var report strings.Builder
	report.WriteString("[")
	for i := range 20000 {
		if i > 0 {
			report.WriteString(",")
		}
		fmt.Fprintf(&report, `{"class_uid":2004,"status_code":"FAIL","severity_id":3,"finding_info":{"uid":"crash-%d","title":"finding %d","desc":"%s"},`+
			`"metadata":{"event_code":"check_%d"},"cloud":{"account":{"uid":"111122223333"},"region":"eu-west-1"},"resources":[{"uid":"arn:aws:s3:::bucket-%d"}]}`,
			i, i, strings.Repeat("d", 400), i%40, i)
	}
	report.WriteString("]")
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "big.ocsf.json")
	_, _ = fw.Write([]byte(report.String()))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", p.url+"/api/v1/imports", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", a.csrf)
	res, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		ScanID string `json:"scan_id"`
	}
	err = json.NewDecoder(res.Body).Decode(&imp)
	res.Body.Close()
	if res.StatusCode != 202 || err != nil {
		t.Fatalf("upload = %d %v", res.StatusCode, err)
	}
	type importRec struct {
		Status    string `json:"status"`
		ItemsRead int    `json:"items_read"`
		Error     string `json:"error"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var rec importRec
		a.do("GET", "/api/v1/imports/"+imp.ScanID, nil, &rec)
		if rec.Status == "running" || rec.Status == "completed" {
			break // killed mid-import, or just after: both must end whole
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import never started: %+v", rec)
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
	p = start(t, env, "serve")
	a = newAPI(t, p.url, password)
	var rec importRec
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rec = importRec{}
		a.do("GET", "/api/v1/imports/"+imp.ScanID, nil, &rec)
		if rec.Status == "completed" || rec.Status == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import after the restart is still %+v", rec)
		}
	}
	var list findingList
	a.do("GET", "/api/v1/findings?limit=1&scan="+imp.ScanID, nil, &list)
	if rec.Status != "completed" || list.Total != 20000 {
		t.Fatalf("import %+v with %d findings: want it completed with all 20,000", rec, list.Total)
	}
	// Nothing is left running (the periodic jobs of the start finish).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st := getStatus(t, p.url)
		if st.Queue.Jobs["running"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still running: %v", st.Queue.Jobs)
		}
	}
}
