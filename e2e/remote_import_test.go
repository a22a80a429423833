package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// apiToken creates an API token for the signed-in user and returns its secret.
func apiToken(t *testing.T, base, email, password string) string {
	t.Helper()
	c, csrf := apiSession(t, base, email, password)
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/tokens", strings.NewReader(`{"name":"ci","expires_in_days":30}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Secret string `json:"secret"`
	}
	if res.StatusCode != 201 || json.NewDecoder(res.Body).Decode(&out) != nil || out.Secret == "" {
		t.Fatalf("create token = %d", res.StatusCode)
	}
	return out.Secret
}

// A CI pipeline's import: `cspm import --server` uploads to a second
// `cspm serve` through a proxy that refuses the first two uploads with 503
// (retried), waits for the import, prints the local summary, and exits 3
// when --fail-on names a severity the import opened; the same report again
// opens nothing and passes the gate; an empty report with its scope closes
// what the image had; a refused token is one clear line and exit 1.
func TestCLIImportToARemoteServer(t *testing.T) {
	t.Parallel()
	p, password := servePlatform(t, "CSPM_KEV_URL=")
	token := apiToken(t, p.url, "admin@cspm.local", password)
	target, _ := url.Parse(p.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var uploads atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/imports" && uploads.Add(1) <= 2 {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, "upstream restarting", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	sample, err := filepath.Abs("../internal/ingest/testdata/samples/trivy/scheme_2_many_vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"CSPM_API_TOKEN=" + token}
	code, out, stderr := run(t, env, "import", "--server", front.URL, "--fail-on", "critical,high", sample)
	if code != 3 || !strings.Contains(out, "5 findings created") || !strings.Contains(stderr, "--fail-on:") ||
		!strings.Contains(stderr, "trying again") || uploads.Load() != 3 {
		t.Fatalf("first import = %d, %d uploads\nstdout %s\nstderr %s", code, uploads.Load(), out, stderr)
	}
	code, out, stderr = run(t, nil, "import", "--server", p.url, "--token", token, "--fail-on", "critical,high,kev", "--json", sample)
	var rec struct {
		Status            string         `json:"status"`
		FindingsUnchanged int            `json:"findings_unchanged"`
		Opened            map[string]int `json:"opened_by_severity"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || rec.Status != "completed" || rec.FindingsUnchanged != 5 || len(rec.Opened) != 0 {
		t.Fatalf("second import = %d %+v\nstdout %s\nstderr %s", code, rec, out, stderr)
	}
	empty := filepath.Join(t.TempDir(), "clean.json")
	_ = os.WriteFile(empty, nil, 0o600)
	code, out, stderr = run(t, env, "import", "--server", p.url, "--format", "trivy", "--scope", "target=teamdojo:latest", empty)
	if code != 0 || !strings.Contains(out, "5 resolved") {
		t.Fatalf("empty report with its scope = %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	code, _, stderr = run(t, nil, "import", "--server", p.url, "--token", "cspm_not-a-token", sample)
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); code != 1 || len(lines) != 1 || !strings.Contains(stderr, "401") {
		t.Fatalf("a refused token = %d %q", code, stderr)
	}
	if code, _, stderr = run(t, env, "import", "--server", p.url, "--fail-on", "urgent", sample); code != 2 || !strings.Contains(stderr, "urgent") {
		t.Fatalf("a bad --fail-on = %d %q", code, stderr)
	}
}
