package app_test

import (
	"os"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// An offline install loads CISA's catalog from a file through the API: the
// real catalog loads whole; an HTML error page, as mirrors serve, is
// refused and the catalog stays; a role without kev:sync is refused.
func TestKEVCatalogUpload(t *testing.T) {
	t.Parallel()
	catalog, err := os.ReadFile("../vuln/testdata/known_exploited_vulnerabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, reg *db.Registry, cfgFn func(*config.Config)) {
		e := newEnv(t, reg, cfgFn)
		tm := e.team("acme")
		admin := e.login(e.user(tm.ID, rbac.Admin).Email)
		status, body := admin.upload("/api/v1/kev/upload", "known_exploited_vulnerabilities.json", catalog)
		res := decode[struct {
			CatalogVersion string `json:"catalog_version"`
			Count          int    `json:"count"`
		}](t, body)
		if status != 200 || res.Count != 1404 || res.CatalogVersion != "2025.08.25" {
			t.Fatalf("upload = %d %s", status, body[:min(len(body), 300)])
		}
		status, body = admin.upload("/api/v1/kev/upload", "kev.json", []byte("<html><body>502 Bad Gateway</body></html>"))
		if status != 422 || !strings.Contains(string(body), "refused") {
			t.Fatalf("an HTML page = %d %s", status, body)
		}
		status, body = admin.do("GET", "/api/v1/kev/status", nil)
		if status != 200 || !strings.Contains(string(body), `"count":1404`) || !strings.Contains(string(body), `"source":"upload:known_exploited_vulnerabilities.json"`) {
			t.Fatalf("status after the refusal = %d %s", status, body)
		}
		viewer := e.login(e.user(tm.ID, rbac.Viewer).Email)
		if status, _ := viewer.upload("/api/v1/kev/upload", "kev.json", catalog); status != 403 {
			t.Fatalf("a viewer's upload = %d", status)
		}
	})
}
