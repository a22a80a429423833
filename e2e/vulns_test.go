package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `cspm kev sync --file` stores the real catalog; a broken file exits 1
// with one line that says what is wrong, and the status still shows the
// last good catalog; `cspm epss import` reads a gzip-less CSV.
func TestCLIKEVAndEPSS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"CSPM_DATA_DIR=" + dir}
	sample, _ := filepath.Abs("../internal/vuln/testdata/known_exploited_vulnerabilities.json")
	code, out, stderr := run(t, env, "kev", "sync", "--json", "--file", sample)
	if code != 0 || !strings.Contains(out, `"count":1404`) {
		t.Fatalf("kev sync: %d %s %s", code, out, stderr)
	}
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte(`{"catalogVersion":"x","vulnerabilities":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, env, "kev", "sync", "--file", broken)
	if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "the last good catalog stays") {
		t.Fatalf("broken kev sync: %d %q", code, stderr)
	}
	code, out, _ = run(t, env, "kev", "status", "--json")
	var st struct {
		Count     int    `json:"count"`
		Version   string `json:"catalog_version"`
		LastError string `json:"last_error"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Count != 1404 || st.Version != "2025.08.25" || st.LastError == "" {
		t.Fatalf("kev status: %d %s", code, out)
	}
	if code, _, stderr := run(t, env, "kev", "sync", "--url", "https://x", "--file", sample); code != 2 {
		t.Fatalf("--url and --file: %d %s", code, stderr)
	}
	epss := filepath.Join(dir, "epss.csv")
	if err := os.WriteFile(epss, []byte("#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2020-15999,0.5,0.97\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, env, "epss", "import", epss); code != 0 || !strings.Contains(out, "1 scores") {
		t.Fatalf("epss import: %d %s %s", code, out, stderr)
	}
}
