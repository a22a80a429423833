package app_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// The status page lists the scanning tools to signed-in callers (found or
// not, path, version, setting, how to install), and a process that runs
// the workers refuses, with a 422 that names the setting and the install,
// a scan whose tool is missing.
func TestStatusListsToolsAndScansNeedThem(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		bin := t.TempDir()
		nmap := scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{Version: "Nmap version 7.94SVN ( https://nmap.org )"})
		e := newEnvWithWorkers(t, reg, func(c *config.Config) {
			c.NmapBin, c.TrivyBin = nmap, filepath.Join(bin, "no-trivy")
		})
		tm := e.team("tools")

		type status struct {
			Tools []scanner.ToolStatus `json:"tools"`
		}
		code, body := e.anon().do("GET", "/api/v1/system/status", nil)
		if code != 200 || strings.Contains(string(body), `"tools"`) {
			t.Fatalf("anonymous status = %d and lists tools: %s", code, body)
		}
		c := e.login(e.user(tm.ID, rbac.SecurityAnalyst).Email)
		code, body = c.do("GET", "/api/v1/system/status", nil)
		st := decode[status](t, body)
		if code != 200 || len(st.Tools) != len(scanner.AllTools) {
			t.Fatalf("status = %d with %d tools: %s", code, len(st.Tools), body)
		}
		byName := map[string]scanner.ToolStatus{}
		for _, tool := range st.Tools {
			byName[tool.Name] = tool
		}
		if n := byName["nmap"]; !n.Found || n.Path != nmap || n.Version != "Nmap version 7.94SVN ( https://nmap.org )" || n.Setting != "nmap_bin" {
			t.Fatalf("nmap %+v", n)
		}
		if tr := byName["trivy"]; tr.Found || tr.Env != "CSPM_TRIVY_BIN" || tr.Install == "" || tr.Problem == "" {
			t.Fatalf("trivy %+v", tr)
		}

		code, body = c.do("POST", "/api/v1/scans", map[string]any{"type": "container", "tools": []string{"trivy"}, "targets": []string{"alpine:3.19"}})
		if code != 422 {
			t.Fatalf("a scan with a missing trivy = %d %s", code, body)
		}
		for _, want := range []string{"Trivy is not installed", "trivy_bin", "CSPM_TRIVY_BIN", "trivy.dev", `"location":"body.tools"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the 422 does not say %q: %s", want, body)
			}
		}
		code, body = c.do("GET", "/api/v1/scans", nil)
		if code != 200 || !strings.Contains(string(body), `"total":0`) {
			t.Fatalf("a refused scan left a run: %s", body)
		}
	})
}
