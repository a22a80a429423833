package app_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/bia"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// The BIA API end to end: create, optimistic concurrency through If-Match
// and revision, the lifecycle with segregation of duties, who may write,
// analytics and the export.
func TestBIAOverHTTP(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		tm := e.team("bia")
		author := e.tokenClient(e.user(tm.ID, rbac.SecurityManager).Email)
		officerUser := e.user(tm.ID, rbac.ComplianceOfficer)
		officer := e.tokenClient(officerUser.Email)
		viewer := e.tokenClient(e.user(tm.ID, rbac.Viewer).Email)

		rec := map[string]any{"name": "=HYPERLINK(\"http://evil\")", "tier": 1, "owner_id": officerUser.ID, "rto_hours": 4, "rpo_hours": 1,
			"mtpd_hours": 24, "financial_loss_per_hour": 500, "impacts": map[string]any{"financial": map[string]int{"1h": 3}}}
		if s, b := viewer.do("POST", "/api/v1/bia", rec); s != 403 {
			t.Fatalf("viewer creates: %d %s", s, b)
		}
		s, b, h := author.doH("POST", "/api/v1/bia", rec, nil)
		if s != 201 {
			t.Fatalf("create: %d %s", s, b)
		}
		p := decode[bia.Process](t, b)
		etag := h.Get("ETag")
		if etag != p.ETag() || p.Status != bia.StatusDraft {
			t.Fatalf("ETag %q for %+v", etag, p)
		}
		path := "/api/v1/bia/" + p.ID
		rec["name"] = "Payments"
		if s, b := author.do("PUT", path, rec); s != 428 {
			t.Errorf("edit without a revision: %d %s", s, b)
		}
		s, b, h = author.doH("PUT", path, rec, map[string]string{"If-Match": etag})
		if s != 200 {
			t.Fatalf("edit: %d %s", s, b)
		}
		edited := decode[bia.Process](t, b)
		if next := h.Get("ETag"); next == etag || next != edited.ETag() {
			t.Errorf("after the edit the ETag is %q (was %q)", next, etag)
		}
		if s, b, _ := author.doH("PUT", path, rec, map[string]string{"If-Match": etag}); s != 412 {
			t.Errorf("stale If-Match: %d %s", s, b)
		}
		stale := map[string]any{"name": "x", "tier": 1, "revision": p.Revision}
		if s, b := author.do("PUT", path, stale); s != 409 {
			t.Errorf("stale revision: %d %s", s, b)
		}
		if s, b := author.do("POST", path+"/transitions", map[string]any{"action": "submit", "comment": "ready"}); s != 200 {
			t.Fatalf("submit: %d %s", s, b)
		}
		if s, b := author.do("POST", path+"/transitions", map[string]any{"action": "approve"}); s != 403 ||
			!strings.Contains(string(b), "segregation of duties") {
			t.Errorf("author approves: %d %s", s, b)
		}
		if s, b := viewer.do("POST", path+"/transitions", map[string]any{"action": "approve"}); s != 403 {
			t.Errorf("viewer approves: %d %s", s, b)
		}
		if s, b := officer.do("POST", path+"/transitions", map[string]any{"action": "approve", "comment": "ok"}); s != 200 {
			t.Fatalf("officer approves: %d %s", s, b)
		}
		s, b = viewer.do("GET", path+"/versions", nil)
		vs := decode[struct {
			Versions    []bia.Version    `json:"versions"`
			Transitions []bia.Transition `json:"transitions"`
		}](t, b)
		if s != 200 || len(vs.Versions) != 1 || vs.Versions[0].Status != bia.StatusApproved || len(vs.Transitions) != 2 {
			t.Fatalf("versions: %d %s", s, b)
		}
		if s, b := viewer.do("GET", path+"/versions/1", nil); s != 200 || !strings.Contains(string(b), `"approved"`) {
			t.Errorf("version 1: %d %s", s, b)
		}
		s, b = viewer.do("GET", "/api/v1/bia/analytics", nil)
		a := decode[bia.Analytics](t, b)
		if s != 200 || a.Processes != 1 || a.ByStatus[bia.StatusApproved] != 1 || a.RevenueAtRiskPerDay != 12000 || len(a.Exposure) != 1 {
			t.Fatalf("analytics: %d %s", s, b)
		}
		// The register export: a cell a spreadsheet would run is neutralized.
		if _, err := e.app.BIA.ProcessCreate(t.Context(), tm.ID, bia.Record{Name: "=1+1", Tier: 3}, bia.Actor{}); err != nil {
			t.Fatal(err)
		}
		s, b = viewer.do("GET", "/api/v1/bia/export?format=csv", nil)
		rd := csv.NewReader(strings.NewReader(string(b)))
		rd.FieldsPerRecord = -1 // a preamble before the table
		rows, err := rd.ReadAll()
		if s != 200 || err != nil {
			t.Fatalf("export: %d %v", s, err)
		}
		var names []string
		for _, r := range rows[3:] { // after the title, the date and the header (the blank line is skipped)
			names = append(names, r[1])
		}
		if strings.Join(names, ",") != "Payments,'=1+1" {
			t.Errorf("exported names %q", names)
		}
		if s, b := viewer.do("GET", "/api/v1/bia/export?format=xlsx", nil); s != 200 || !strings.HasPrefix(string(b), "PK") {
			t.Errorf("xlsx export: %d", s)
		}
	})
}
