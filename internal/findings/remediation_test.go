package findings_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// Findings of one check share its remediation, which each team keeps once:
// every finding reads its own back, a change points the finding at another
// (stored once too), and another team's import stores its own.
func TestRemediationStoredOncePerTeam(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		report := func(remediations ...string) string {
			items := make([]string, len(remediations))
			for i, r := range remediations {
				items[i] = fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"t%d"},"status_detail":"resource %d is open","metadata":{"event_code":"c1"},"remediation":{"desc":%q}}`,
					i+1, i+1, i+1, r)
			}
			return "[" + strings.Join(items, ",") + "]"
		}
		importDoc := func(team, doc string) findings.ImportResult {
			t.Helper()
			res, err := st.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: team})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		stored := func(team string) int {
			t.Helper()
			var n int
			if err := reg.Get(db.NativeScans).InTeam(ctx, team, func(q db.Querier) error {
				return q.QueryRowContext(ctx, "SELECT count(*) FROM finding_remediations WHERE team_id = $1", team).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		check := func(team string, want map[string]string) {
			t.Helper()
			list, err := st.FindingList(ctx, findings.ListParams{TeamID: team, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Findings) != len(want) {
				t.Fatalf("team %s lists %d findings, want %d", team, len(list.Findings), len(want))
			}
			for _, f := range list.Findings {
				if f.Remediation != want[f.Title] || f.Description != "resource "+f.Title[1:]+" is open" {
					t.Errorf("team %s, %s: remediation %q, description %q; want remediation %q", team, f.Title, f.Remediation, f.Description, want[f.Title])
				}
				det, err := st.FindingGet(ctx, team, f.ID)
				if err != nil || det.Remediation != want[f.Title] {
					t.Errorf("team %s, %s detail: remediation %q (%v)", team, f.Title, det.Remediation, err)
				}
			}
		}

		a, b := "Block public access.", "Enable encryption."
		importDoc("t1", report(a, a, b))
		if n := stored("t1"); n != 2 {
			t.Fatalf("t1 keeps %d remediations, want 2", n)
		}
		check("t1", map[string]string{"t1": a, "t2": a, "t3": b})

		importDoc("t2", report(a))
		if stored("t2") != 1 || stored("t1") != 2 {
			t.Fatalf("after t2's import: t1 keeps %d, t2 %d", stored("t1"), stored("t2"))
		}
		check("t2", map[string]string{"t1": a})

		// uid-3 now shares uid-1's; uid-2 gets a new one.
		c := "Delete the bucket."
		res := importDoc("t1", report(a, c, a))
		if res.FindingsUpdated != 2 || res.FindingsUnchanged != 1 {
			t.Fatalf("re-import: %+v", res)
		}
		if n := stored("t1"); n != 3 {
			t.Fatalf("t1 keeps %d remediations, want 3", n)
		}
		check("t1", map[string]string{"t1": a, "t2": c, "t3": a})
	})
}
