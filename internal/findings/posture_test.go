package findings

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// postureItem is one Prowler OCSF finding: check is also its service's
// prefix, resource its resource UID.
func postureItem(provider, account, region, check, resource, status, severity string) string {
	return fmt.Sprintf(`{"class_uid":2004,"status_code":%q,"severity":%q,"finding_info":{"uid":"%s-%s-%s-%s","title":"t"},`+
		`"metadata":{"event_code":%q,"product":{"name":"Prowler"}},"cloud":{"provider":%q,"account":{"uid":%q},"region":%q},`+
		`"resources":[{"uid":%q,"region":%q}]}`, status, severity, provider, account, check, resource, check, provider, account, region, resource, region)
}

// The overview counts pass and fail in resources per provider, account,
// region, service and check, as Prowler App does; a MANUAL result is
// neither a failure nor a pass; a muted finding leaves the failures; the
// filter narrows every count, the trend included.
func TestPostureOverviewPassRates(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := NewStore(reg)
		items := []string{
			postureItem("aws", "111", "eu-west-1", "s3_bucket_public", "arn:s3:::a", "FAIL", "High"),
			postureItem("aws", "111", "eu-west-1", "s3_bucket_public", "arn:s3:::b", "PASS", "High"),
			postureItem("aws", "111", "eu-west-1", "s3_bucket_versioning", "arn:s3:::a", "PASS", "Low"),
			postureItem("aws", "111", "us-east-1", "iam_root_mfa", "arn:iam::111:root", "FAIL", "Critical"),
			postureItem("aws", "111", "us-east-1", "iam_policy_review", "arn:iam::111:root", "MANUAL", "Medium"),
			postureItem("aws", "222", "eu-west-1", "s3_bucket_public", "arn:s3:::c", "FAIL", "High"),
			postureItem("gcp", "proj-1", "europe-west1", "compute_firewall_open", "fw-1", "FAIL", "Medium"),
			postureItem("gcp", "proj-1", "europe-west1", "compute_firewall_logs", "fw-1", "PASS", "Low"),
		}
		if _, err := st.Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		// Mute account 222's failure: it leaves the failures for the muted.
		list, err := st.FindingList(ctx, ListParams{TeamID: "t1", Account: []string{"222"}})
		if err != nil || len(list.Findings) != 1 {
			t.Fatalf("account 222: %+v, %v", list, err)
		}
		if err := st.FindingMute(ctx, "t1", list.Findings[0].ID, "u1", "mute", "known", nil); err != nil {
			t.Fatal(err)
		}

		o, err := st.PostureOverview(ctx, "t1", 7, PostureFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if want := (PassRate{Passed: 3, Failed: 3, Manual: 1, Muted: 1}); !sameCounts(o.Totals, want) || rate(o.Totals) != "0.50" {
			t.Errorf("totals %+v (rate %s), want %+v at 0.50", o.Totals, rate(o.Totals), want)
		}
		if o.Evaluated != 8 {
			t.Errorf("%d check results evaluated, want 8", o.Evaluated)
		}
		// Resources are counted in the background: ask until they are.
		resources := func(f PostureFilter) int {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				o, err := st.PostureOverview(ctx, "t1", 7, f)
				if err != nil {
					t.Fatal(err)
				}
				if o.ResourcesScanned != nil {
					return *o.ResourcesScanned
				}
				if time.Now().After(deadline) {
					t.Fatal("resources never counted")
				}
			}
		}
		// a, b, root, c, fw-1: five resources under eight check results.
		if n := resources(PostureFilter{}); n != 5 {
			t.Errorf("%d resources scanned, want 5", n)
		}
		if n := resources(PostureFilter{Provider: []string{"aws"}, Region: []string{"eu-west-1"}}); n != 3 {
			t.Errorf("%d resources in aws eu-west-1, want 3 (a, b, c)", n)
		}
		// The MANUAL result is not an open failure of any severity.
		if o.OpenBySeverity["medium"] != 1 || o.OpenBySeverity["critical"] != 1 || o.OpenBySeverity["high"] != 1 || o.ByStatus["muted"] != 1 {
			t.Errorf("open failures by severity %v, by status %v", o.OpenBySeverity, o.ByStatus)
		}
		want := map[string]PassRate{
			"aws":                   {Provider: "aws", Passed: 2, Failed: 2, Manual: 1, Muted: 1},
			"gcp":                   {Provider: "gcp", Passed: 1, Failed: 1},
			"111":                   {Provider: "aws", Passed: 2, Failed: 2, Manual: 1},
			"222":                   {Provider: "aws", Muted: 1},
			"eu-west-1":             {Provider: "aws", Passed: 2, Failed: 1, Muted: 1},
			"us-east-1":             {Provider: "aws", Failed: 1, Manual: 1},
			"s3":                    {Provider: "aws", Passed: 2, Failed: 1, Muted: 1},
			"iam":                   {Provider: "aws", Failed: 1, Manual: 1},
			"s3_bucket_public":      {Provider: "aws", Passed: 1, Failed: 1, Muted: 1},
			"compute_firewall_open": {Provider: "gcp", Failed: 1},
		}
		for _, rows := range [][]PassRate{o.ByProvider, o.ByAccount, o.ByRegion, o.ByService, o.ByCheck} {
			for _, r := range rows {
				if w, ok := want[r.Key]; ok {
					if !sameCounts(r, w) || r.Provider != w.Provider {
						t.Errorf("%s: %+v, want %+v", r.Key, r, w)
					}
					delete(want, r.Key)
				}
			}
		}
		if len(want) > 0 {
			t.Errorf("rows missing: %v", want)
		}
		if len(o.ByCheck) == 0 || o.ByCheck[0].Failed < o.ByCheck[len(o.ByCheck)-1].Failed {
			t.Errorf("checks not ordered by failures: %+v", o.ByCheck)
		}
		if r := o.ByAccount[len(o.ByAccount)-1]; r.Key != "222" || r.PassRate != nil {
			t.Errorf("account 222 has nothing judged, so no pass rate: %+v", r)
		}

		f, err := st.PostureOverview(ctx, "t1", 7, PostureFilter{Provider: []string{"aws"}, Region: []string{"eu-west-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := (PassRate{Passed: 2, Failed: 1, Muted: 1}); !sameCounts(f.Totals, want) || f.Evaluated != 4 || len(f.ByProvider) != 1 {
			t.Errorf("aws in eu-west-1: totals %+v, %d evaluated, providers %+v", f.Totals, f.Evaluated, f.ByProvider)
		}
		if n := f.Trend[len(f.Trend)-1].New; n != 4 {
			t.Errorf("aws in eu-west-1: %d new today, want 4", n)
		}
		// Another team sees nothing.
		other, err := st.PostureOverview(ctx, "t2", 7, PostureFilter{})
		if err != nil || other.Totals.Passed+other.Totals.Failed != 0 || len(other.ByProvider) != 0 {
			t.Errorf("team t2: %+v, %v", other.Totals, err)
		}
	})
}

func sameCounts(a, b PassRate) bool {
	return a.Passed == b.Passed && a.Failed == b.Failed && a.Manual == b.Manual && a.Muted == b.Muted
}

func rate(r PassRate) string {
	if r.PassRate == nil {
		return "nil"
	}
	return fmt.Sprintf("%.2f", *r.PassRate)
}
