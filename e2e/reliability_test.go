package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// Sixteen clients import reports, start scans, list findings and mute them
// at once, on each engine, for a bounded time, against one cspm serve with
// its workers. On SQLite an import holding native_scans while it wrote its
// progress to orchestration, and a SubJob holding orchestration while it
// mirrored to native_scans, once froze the server for good (3 times in 15
// tries): the queue stopped and /readyz answered 503. Now no request may
// answer 5xx, /readyz stays 200 throughout, and every import and run ends.
func TestConcurrentImportsScansReadsAndMutes(t *testing.T) {
	t.Parallel()
	eachEngine(t, concurrencyScenario)
}

func concurrencyScenario(t *testing.T, engine string) {
	bin := t.TempDir()
	trivy := scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json"), SleepMS: 50})
	grype := scannertest.Tool(t, bin, "grype", scannertest.Behaviour{Sample: scannertest.Sample(t, "grype/check_all_fields.json")})
	env := []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_ADDR=127.0.0.1:0", "CSPM_TRIVY_BIN=" + trivy, "CSPM_GRYPE_BIN=" + grype}
	if engine == "postgres" {
		env = append(env, "CSPM_DATABASE_URL="+freshPostgresDatabase(t))
	}
	p := start(t, env, "serve")
	a := newAPI(t, p.url, bootstrapPassword(t, p))
	report := mustRead(t, scannertest.Sample(t, "prowler/example_output_aws.ocsf.json"))

	var (
		fiveXX, requests atomic.Int64
		mu               sync.Mutex
		runs, imports    []string
		failures         []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	// call sends one request and counts what came back; a transport error
	// (a frozen server times out) counts as a failure too.
	c := &http.Client{Jar: a.c.Jar, Timeout: 20 * time.Second}
	call := func(method, path, ctype string, body []byte) (int, []byte) {
		req, _ := http.NewRequest(method, p.url+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-CSRF-Token", a.csrf)
		requests.Add(1)
		res, err := c.Do(req)
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return 0, nil
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			fiveXX.Add(1)
			fail("%s %s = %d %.300s", method, path, res.StatusCode, raw)
		}
		return res.StatusCode, raw
	}

	stop := make(chan struct{})
	var probes sync.WaitGroup
	probes.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if code, body := httpGet(t, p.url+"/readyz"); code != 200 {
				fail("/readyz = %d %s", code, body)
			}
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	var clients sync.WaitGroup
	for i := range 16 {
		clients.Go(func() {
			for n := 0; time.Now().Before(deadline) && n < 40; n++ {
				switch (i + n) % 4 {
				case 0:
					var form bytes.Buffer
					mw := multipart.NewWriter(&form)
					fw, _ := mw.CreateFormFile("file", "prowler.ocsf.json")
					_, _ = fw.Write(report)
					_ = mw.Close()
					code, raw := call("POST", "/api/v1/imports", mw.FormDataContentType(), form.Bytes())
					if code == 202 {
						mu.Lock()
						imports = append(imports, string(raw))
						mu.Unlock()
					} else if code != 0 && code < 500 {
						fail("import = %d %.200s", code, raw)
					}
				case 1:
					code, raw := call("POST", "/api/v1/scans", "application/json",
						fmt.Appendf(nil, `{"type":"container","tools":["trivy","grype"],"targets":["registry.example/app-%d-%d:1"]}`, i, n))
					if code == 202 {
						var run scanRun
						if err := json.Unmarshal(raw, &run); err == nil {
							mu.Lock()
							runs = append(runs, run.ID)
							mu.Unlock()
						}
					} else if code != 0 && code < 500 {
						fail("scan = %d %.200s", code, raw)
					}
				case 2:
					call("GET", "/api/v1/findings?limit=50&status=open", "", nil)
				case 3:
					code, raw := call("GET", "/api/v1/findings?limit=5&status=open", "", nil)
					var list struct {
						Findings []struct {
							ID int64 `json:"id"`
						} `json:"findings"`
					}
					if code == 200 && json.Unmarshal(raw, &list) == nil && len(list.Findings) > 0 {
						call("POST", fmt.Sprintf("/api/v1/findings/%d/mute", list.Findings[0].ID), "application/json",
							[]byte(`{"kind":"mute","reason":"reliability test"}`))
					}
				}
			}
		})
	}
	clients.Wait()

	// Every run and import ends, with the queue still moving.
	for _, id := range runs {
		if run := a.waitRun(id, time.Minute); run.Status != "completed" {
			fail("run %s ended %s: %s", id, run.Status, run.StatusDetail)
		}
	}
	for _, raw := range imports {
		var imp struct {
			ID string `json:"scan_id"`
		}
		if err := json.Unmarshal([]byte(raw), &imp); err != nil || imp.ID == "" {
			fail("import answer %.200s", raw)
			continue
		}
		waitUntil := time.Now().Add(time.Minute)
		for {
			var rec struct {
				Status string `json:"status"`
				Error  string `json:"error"`
			}
			a.do("GET", "/api/v1/imports/"+imp.ID, nil, &rec)
			if rec.Status == "completed" {
				break
			}
			if rec.Status == "failed" || time.Now().After(waitUntil) {
				fail("import %s is %s: %s", imp.ID, rec.Status, rec.Error)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	close(stop)
	probes.Wait()
	t.Logf("%s: %d requests, %d runs, %d imports", engine, requests.Load(), len(runs), len(imports))
	if len(runs) == 0 || len(imports) == 0 || fiveXX.Load() > 0 || len(failures) > 0 {
		t.Fatalf("%d runs, %d imports, %d answers 5xx; first failures:\n%v", len(runs), len(imports), fiveXX.Load(), failures)
	}
}
