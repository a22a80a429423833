package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

type doctorOut struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name, Status, Detail string
	} `json:"checks"`
	Tools []struct {
		Name     string `json:"name"`
		Found    bool   `json:"found"`
		Path     string `json:"path"`
		Version  string `json:"version"`
		Setting  string `json:"setting"`
		Install  string `json:"install"`
		Required bool   `json:"required"`
		Status   string `json:"status"`
	} `json:"tools"`
}

// cspm doctor lists the scanners (found or not, path, version, setting,
// how to install), checks the data directory, the databases and Redis, and
// exits 1 when something required is missing: a database or Redis it
// cannot reach, a scanner its setting names that is not there, or one
// --require names.
func TestDoctor(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		bin := t.TempDir()
		nmap := scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{Version: "Nmap version 7.94SVN ( https://nmap.org )"})
		dataDir := filepath.Join(t.TempDir(), "data")
		env := []string{"CSPM_DATA_DIR=" + dataDir, "CSPM_NMAP_BIN=" + nmap, "PATH=" + bin}
		if engine == "postgres" {
			env = append(env, "CSPM_DATABASE_URL="+freshPostgresDatabase(t))
		}

		code, stdout, stderr := run(t, env, "doctor", "--json")
		if code != 0 {
			t.Fatalf("doctor = %d\n%s\n%s", code, stdout, stderr)
		}
		var rep doctorOut
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		checks := map[string]string{}
		for _, c := range rep.Checks {
			checks[c.Name] = c.Status
		}
		if !rep.OK || checks["data directory"] != "ok" || checks["database"] == "failed" || checks["redis"] != "skipped" || checks["scan work directory"] != "ok" {
			t.Fatalf("checks %+v", rep.Checks)
		}
		if engine == "sqlite" {
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Fatal("doctor created the data directory")
			}
			// Nor does it create the databases in an empty one.
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if code, stdout, _ := run(t, env, "doctor"); code != 0 || !strings.Contains(stdout, "created in data_dir at the first serve") {
				t.Fatalf("doctor on an empty data directory = %d:\n%s", code, stdout)
			}
			if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
				t.Fatalf("doctor wrote %d files in the data directory", len(entries))
			}
		}
		tools := map[string]int{}
		for i, tool := range rep.Tools {
			tools[tool.Name] = i
		}
		if len(rep.Tools) != 8 {
			t.Fatalf("%d tools", len(rep.Tools))
		}
		n := rep.Tools[tools["nmap"]]
		if !n.Found || n.Path != nmap || n.Version != "Nmap version 7.94SVN ( https://nmap.org )" || n.Setting != "nmap_bin" || !n.Required || n.Status != "ok" {
			t.Fatalf("nmap %+v", n)
		}
		g := rep.Tools[tools["grype"]]
		if g.Found || g.Required || g.Status != "warning" || g.Install == "" {
			t.Fatalf("grype %+v", g)
		}

		// Human-readable: each scanner with its setting, and how to install what is missing.
		code, stdout, _ = run(t, env, "doctor")
		for _, want := range []string{"nmap", "Nmap version 7.94SVN", nmap, "grype_bin (CSPM_GRYPE_BIN)", "pipx install checkov", "Everything required is in place."} {
			if code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("doctor = %d without %q:\n%s", code, want, stdout)
			}
		}

		// A scanner its setting names that is not there, one --require
		// names, and a Redis it cannot reach: exit 1, one line naming them.
		bad := append(env, "CSPM_TRIVY_BIN="+filepath.Join(bin, "no-trivy"), "CSPM_REDIS_URL=redis://127.0.0.1:1/0")
		code, stdout, stderr = run(t, bad, "doctor", "--require", "grype")
		if code != 1 || strings.TrimSpace(stderr) != "cspm: doctor: redis, trivy, grype failed" {
			t.Fatalf("doctor with missing parts = %d, stderr %q\n%s", code, stderr, stdout)
		}
		if !strings.Contains(stdout, "no-trivy (trivy_bin) does not exist") || strings.Contains(stdout, "Everything required is in place.") {
			t.Fatalf("stdout:\n%s", stdout)
		}
		if code, _, stderr = run(t, env, "doctor", "--require", "nessus"); code != 2 || !strings.Contains(stderr, "unknown tool") {
			t.Fatalf("--require nessus = %d %q", code, stderr)
		}
	})
}

// A worker says at start which scanners its machine lacks, so that an
// operator of separate worker processes sees it in the log.
func TestWorkerLogsMissingScanners(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	nmap := scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{})
	p := start(t, []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_NMAP_BIN=" + nmap, "PATH=" + bin}, "worker")
	var line string
	for deadline := time.Now().Add(60 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(l, "scanners missing on this machine") {
				line = l
			}
		}
	}
	if code := p.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("worker exited %d", code)
	}
	var rec struct {
		Missing string `json:"missing"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("no log line about missing scanners (%v): %s", err, p.stderr.String())
	}
	if !strings.Contains(rec.Missing, "trivy") || !strings.Contains(rec.Missing, "prowler") || strings.Contains(rec.Missing, "nmap") {
		t.Fatalf("missing %q", rec.Missing)
	}
}

// With the API and the workers in separate processes, the API refuses a
// scan whose tool no worker reported having.
func TestSeparateAPIChecksTheWorkersScanners(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		bin := t.TempDir()
		grype := scannertest.Tool(t, bin, "grype", scannertest.Behaviour{})
		env := []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_GRYPE_BIN=" + grype, "PATH=" + bin}
		if engine == "postgres" {
			env = append(env, "CSPM_DATABASE_URL="+freshPostgresDatabase(t))
		}
		p := start(t, append(env, "CSPM_ADDR=127.0.0.1:0"), "serve", "--no-workers")
		a := newAPI(t, p.url, bootstrapPassword(t, p))
		start(t, env, "worker")
		// A target the API refuses in any case (it starts with '-'), so
		// that no scan is queued while the worker's report is on its way:
		// the refusal names the missing scanner once it has arrived.
		refusal := func() string {
			req, _ := http.NewRequest("POST", p.url+"/api/v1/scans", strings.NewReader(`{"type":"container","tools":["trivy"],"targets":["-x"]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", a.csrf)
			res, err := a.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var problem struct {
				Detail string `json:"detail"`
			}
			if res.StatusCode != 422 || json.NewDecoder(res.Body).Decode(&problem) != nil {
				t.Fatalf("scan = %d", res.StatusCode)
			}
			return problem.Detail
		}
		detail := refusal()
		for deadline := time.Now().Add(60 * time.Second); !strings.Contains(detail, "none of the 1 workers") && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			detail = refusal()
		}
		if !strings.Contains(detail, "Trivy is not installed") || !strings.Contains(detail, "none of the 1 workers") || !strings.Contains(detail, "trivy_bin") {
			t.Fatalf("refusal %q", detail)
		}
		var run scanRun
		if code := a.do("POST", "/api/v1/scans", map[string]any{"type": "container", "tools": []string{"grype"}, "targets": []string{"alpine:3.19"}}, &run); code != 202 {
			t.Fatalf("grype, which the worker has: %d", code)
		}
	})
}
