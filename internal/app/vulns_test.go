package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// kevServer serves the real KEV sample as CISA would, or an HTML page once
// broken is set.
func kevServer(t *testing.T, broken *atomic.Bool) *httptest.Server {
	t.Helper()
	good, err := os.ReadFile("../vuln/testdata/known_exploited_vulnerabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if broken.Load() {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>503 maintenance</body></html>"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(good)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The vulnerability API end to end: an ADMIN syncs KEV from the configured
// URL, the team's Trivy occurrences get flagged and prioritized, filters
// work, a broken download is refused and keeps the catalog, a VIEWER reads
// but cannot sync, accept or change the SLA, and every change is audited.
func TestVulnerabilitiesAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		var broken atomic.Bool
		srv := kevServer(t, &broken)
		e := newEnv(t, reg, func(c *config.Config) { c.KEVURL = srv.URL })
		tm := e.team("vulns")
		admin := e.tokenClient(e.user(tm.ID, rbac.Admin).Email)
		viewer := e.tokenClient(e.user(tm.ID, rbac.Viewer).Email)
		if _, err := e.app.Findings.Import(context.Background(), bytes.NewReader(sampleFile(t, "trivy/scheme_2_many_vulns.json")),
			findings.ImportParams{TeamID: tm.ID}); err != nil {
			t.Fatal(err)
		}

		if s, body := viewer.do("POST", "/api/v1/kev/sync", nil); s != 403 {
			t.Fatalf("viewer sync = %d %s", s, body)
		}
		s, body := admin.do("POST", "/api/v1/kev/sync", nil)
		if s != 200 {
			t.Fatalf("sync = %d %s", s, body)
		}
		if res := decode[vuln.KEVSyncResult](t, body); res.Count != 1404 || len(res.Added) != 1404 {
			t.Fatalf("sync result: count %d added %d", res.Count, len(res.Added))
		}
		_, body = viewer.do("GET", "/api/v1/kev/status", nil)
		st := decode[vuln.KEVStatus](t, body)
		if st.CatalogVersion != "2025.08.25" || st.Count != 1404 || st.LastSync == nil || st.LastError != "" {
			t.Fatalf("status: %s", body)
		}

		_, body = viewer.do("GET", "/api/v1/vulnerabilities?in_kev=true", nil)
		list := decode[vuln.VulnerabilityList](t, body)
		if list.Total != 1 || list.Vulnerabilities[0].ID != "CVE-2020-15999" || list.Vulnerabilities[0].KEV.State != "in_kev" {
			t.Fatalf("in_kev=true: %s", body)
		}
		_, body = viewer.do("GET", "/api/v1/vulnerabilities?group_by=asset", nil)
		if assets := decode[vuln.VulnerabilityList](t, body); assets.Total != 1 || assets.Assets[0].InKEV != 1 || assets.Assets[0].Vulnerabilities != 5 {
			t.Fatalf("by asset: %s", body)
		}
		if s, _ := viewer.do("GET", "/api/v1/vulnerabilities?severity=bogus", nil); s != 422 {
			t.Fatalf("bad severity = %d", s)
		}
		s, body = viewer.do("GET", "/api/v1/vulnerabilities/cve-2020-15999", nil)
		detail := decode[vuln.VulnerabilityDetail](t, body)
		if s != 200 || detail.KEV.DueDate != "2021-11-17" || len(detail.Occurrences) != 1 || !detail.Occurrences[0].Overdue ||
			detail.CVSSScore == nil || len(detail.CWEs) == 0 {
			t.Fatalf("detail = %d %s", s, body)
		}

		occ := detail.Occurrences[0].ID
		path := "/api/v1/vulnerabilities/occurrences/" + strconv.FormatInt(occ, 10)
		if s, _ := viewer.do("PATCH", path, map[string]any{"status": "accepted", "reason": "x"}); s != 403 {
			t.Fatalf("viewer accept = %d", s)
		}
		if s, body := admin.do("PATCH", path, map[string]any{"status": "accepted"}); s != 422 {
			t.Fatalf("accept without reason = %d %s", s, body)
		}
		if s, body := admin.do("PATCH", path, map[string]any{"status": "accepted", "reason": "WAF rule in front"}); s != 200 ||
			!strings.Contains(string(body), `"accepted"`) {
			t.Fatalf("accept = %d %s", s, body)
		}
		if s, _ := viewer.do("PUT", "/api/v1/vulnerabilities/sla", vuln.SLAPolicy{CriticalDays: 1, HighDays: 2, MediumDays: 3, LowDays: 4}); s != 403 {
			t.Fatalf("viewer SLA = %d", s)
		}
		if s, body := admin.do("PUT", "/api/v1/vulnerabilities/sla", vuln.SLAPolicy{CriticalDays: 1, HighDays: 2, MediumDays: 3, LowDays: 4}); s != 200 {
			t.Fatalf("SLA = %d %s", s, body)
		}
		if _, body := viewer.do("GET", "/api/v1/vulnerabilities/sla", nil); decode[vuln.SLAPolicy](t, body).HighDays != 2 {
			t.Fatalf("SLA read back: %s", body)
		}

		// CISA's mirror serves an error page: refused, catalog kept, error shown.
		broken.Store(true)
		if s, body := admin.do("POST", "/api/v1/kev/sync", nil); s != 422 || !strings.Contains(string(body), "not a JSON object") {
			t.Fatalf("broken sync = %d %s", s, body)
		}
		_, body = viewer.do("GET", "/api/v1/kev/status", nil)
		if st := decode[vuln.KEVStatus](t, body); st.Count != 1404 || st.LastError == "" {
			t.Fatalf("status after a broken sync: %s", body)
		}

		events, err := e.app.Audit.EventList(context.Background(), auditParams(tm.ID))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, ev := range events {
			seen[ev.Action+"/"+string(ev.Outcome)]++
		}
		for _, want := range []string{"kev.sync/success", "kev.sync/failure", "vulnerability.status_changed/success", "vulnerability.sla_changed/success"} {
			if seen[want] == 0 {
				t.Errorf("no %s audit event (have %v)", want, seen)
			}
		}
	})
}
