package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// A business impact analysis that names a resource gives its findings a
// business tier through the real sync job, after the analysis is saved:
// the explorer filters and sorts by it.
func TestBIAChangeGivesFindingsTheirBusinessTier(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnvWithWorkers(t, reg, nil)
		teamID := e.team("acme").ID
		manager := e.tokenClient(e.user(teamID, rbac.SecurityManager).Email)
		status, body := manager.upload("/api/v1/imports", "prowler.ocsf.json", sampleFile(t, "prowler/example_output_aws.ocsf.json"))
		if status != 202 {
			t.Fatalf("upload = %d %s", status, body)
		}
		scanID := decode[struct {
			ScanID string `json:"scan_id"`
		}](t, body).ScanID
		if rec := waitImport(t, manager, scanID); rec.Status != "completed" {
			t.Fatalf("import = %+v", rec)
		}
		_, body = manager.do("GET", "/api/v1/findings?limit=50", nil)
		all := decode[findings.ListResult](t, body)
		if len(all.Findings) < 2 {
			t.Fatalf("%d findings", len(all.Findings))
		}
		target := all.Findings[len(all.Findings)-1] // the least severe: the tier must lift it
		for _, f := range all.Findings {
			if f.BusinessTier != 0 {
				t.Fatalf("a tier before any analysis: %+v", f)
			}
		}
		if s, b := manager.do("GET", "/api/v1/findings?business_tier=9", nil); s != 422 && s != 400 {
			t.Fatalf("tier 9: %d %s", s, b)
		}

		proc := map[string]any{"name": "Payments", "tier": 1,
			"dependencies": []map[string]any{{"kind": "resource", "value": target.ResourceUID}}}
		if s, b := manager.do("POST", "/api/v1/bia", proc); s != 201 {
			t.Fatalf("create BIA: %d %s", s, b)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			s, b := manager.do("GET", "/api/v1/findings?business_tier=1&limit=50", nil)
			if s != 200 {
				t.Fatalf("filter: %d %s", s, b)
			}
			tiered := decode[findings.ListResult](t, b)
			if tiered.Total > 0 {
				for _, f := range tiered.Findings {
					if f.ResourceUID != target.ResourceUID || f.BusinessTier != 1 {
						t.Fatalf("tier 1 lists %+v", f)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no finding has tier 1 30 s after the analysis was saved")
			}
			time.Sleep(100 * time.Millisecond)
		}
		s, b := manager.do("GET", "/api/v1/findings?sort=business_tier&limit=1", nil)
		first := decode[findings.ListResult](t, b)
		if s != 200 || len(first.Findings) != 1 || first.Findings[0].ResourceUID != target.ResourceUID {
			t.Fatalf("business impact first: %d %s", s, b)
		}
		if s, b := manager.do("GET", fmt.Sprintf("/api/v1/vulnerabilities?business_tier=1&sort=%s", "business_tier"), nil); s != 200 {
			t.Fatalf("vulnerabilities by tier: %d %s", s, b)
		}
	})
}
