package compliance

import (
	"context"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// learnedFinding is one Prowler OCSF finding of check, with result and the
// compliance map Prowler writes into it, in a region of an account of its
// own (an import resolves the findings of the scopes it covers).
func learnedFinding(check, region, result, compliance string) string {
	resource := "r-" + region
	return `{"message":"m","metadata":{"event_code":"` + check + `","product":{"name":"Prowler","uid":"prowler","vendor_name":"Prowler","version":"5.0.0"},"version":"1.4.0"},
		"severity_id":3,"severity":"Medium","status":"New","status_code":"` + result + `",
		"finding_info":{"uid":"prowler-aws-` + check + `-999988887777-` + region + `-` + resource + `","title":"t","desc":"d","created_time":1764720000},
		"resources":[{"uid":"arn:aws:test:` + region + `:999988887777:` + resource + `","name":"` + resource + `","region":"` + region + `","type":"Other","group":{"name":"ec2"},"labels":[]}],
		"class_uid":2004,"class_name":"Detection Finding","category_uid":2,"type_uid":200401,
		"cloud":{"account":{"uid":"999988887777","type":"AWS Account"},"provider":"aws","region":"` + region + `"},"time":1764720000,
		"unmapped":{"compliance":` + compliance + `}}`
}

// A check that no loaded Prowler map names reaches SCF controls through
// the compliance map its findings carry: read once, on the full sync and
// on an incremental one, and only for frameworks and references the
// engine can place.
func TestFindingsOwnComplianceMap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		env := setupGolden(t, reg)
		imp := func(doc string) []string {
			res, err := env.findings.Import(ctx, strings.NewReader("["+doc+"]"), findings.ImportParams{TeamID: env.teamA, Filename: "x.ocsf.json"})
			if err != nil {
				t.Fatal(err)
			}
			return res.Checks
		}
		// MON-02 (SI-4) is not assessed in the golden set: its only mapped
		// check has no findings.
		imp(learnedFinding("ec2_network_ids_learned", "us-east-1", "FAIL", `{"NIST-800-53-Revision-5":["si_4"],"Some-Unknown-Framework":["1.1"]}`))
		if _, err := env.s.Engine.Sync(ctx, env.teamA, nil); err != nil {
			t.Fatal(err)
		}
		c, err := env.s.ControlGet(ctx, env.teamA, "MON-02")
		if err != nil || c.Result.Status != StatusFailing || c.Result.Failed != 1 {
			t.Fatalf("MON-02 after the full sync: %v %+v", err, c.Result)
		}
		// Every other control is as the golden table says.
		for ref, want := range goldenControls {
			if ref == "MON-02" {
				continue
			}
			if c, err := env.s.ControlGet(ctx, env.teamA, ref); err != nil || c.Result.Status != want.status ||
				c.Result.Passed != want.passed || c.Result.Failed != want.failed {
				t.Errorf("%s: %v %+v, want %+v", ref, err, c.Result, want)
			}
		}

		// An incremental sync after an import of another new check.
		checks := imp(learnedFinding("ec2_flow_logs_learned", "us-west-2", "PASS", `{"NIST-800-53-Revision-5":"si_4"}`))
		if _, err := env.s.Engine.Sync(ctx, env.teamA, checks); err != nil {
			t.Fatal(err)
		}
		c, err = env.s.ControlGet(ctx, env.teamA, "MON-02")
		if err != nil || c.Result.Status != StatusPartial || c.Result.Passed != 1 || c.Result.Failed != 1 {
			t.Fatalf("MON-02 after the incremental sync: %v %+v", err, c.Result)
		}
		// Each check was read once: another sync adds no entry.
		count := func() (entries, learned int) {
			_ = env.s.d.QueryRowContext(ctx, `SELECT count(*) FROM compliance_check_map_entries WHERE map_id = $1`, learnedMapID).Scan(&entries)
			_ = env.s.d.QueryRowContext(ctx, `SELECT count(*) FROM compliance_learned_checks`).Scan(&learned)
			return entries, learned
		}
		e1, l1 := count()
		if _, err := env.s.Engine.Sync(ctx, env.teamA, nil); err != nil {
			t.Fatal(err)
		}
		if e2, l2 := count(); e1 != 2 || e2 != e1 || l2 != l1 {
			t.Errorf("entries %d -> %d, learned checks %d -> %d", e1, e2, l1, l2)
		}
	})
}
