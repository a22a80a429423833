package findings

import (
	"context"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// The test URL names the postgres superuser, which bypasses row-level
// security. A team's transaction still sees only that team's rows, even
// through a query that forgot its team filter: it runs under the tenant
// role, which the policies bind. The import's own ANALYZE, which only the
// owner may run, still runs.
func TestRowLevelSecurityHoldsForASuperuserURL(t *testing.T) {
	t.Parallel()
	u := dbtest.PostgresURL(t)
	if u == "" {
		t.Skip("set CSPM_TEST_POSTGRES_URL: row-level security is PostgreSQL's")
	}
	reg := dbtest.Open(t, dbtest.Engine{Name: "postgres", URL: u})
	d := reg.Get(db.NativeScans)
	ctx := context.Background()
	var super bool
	if err := d.QueryRowContext(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || !super {
		t.Skipf("the test URL's role is not a superuser (%v): nothing bypasses row-level security", err)
	}
	st := NewStore(reg)
	report := func(n int, prefix string) string {
		var items []string
		for i := range n {
			items = append(items, `{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"`+prefix+strings.Repeat("x", i+1)+`","title":"t"},"cloud":{"account":{"uid":"a1"},"region":"r1"}}`)
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	for team, n := range map[string]int{"team-a": 3, "team-b": 5} {
		if _, err := st.Import(ctx, strings.NewReader(report(n, team)), ImportParams{TeamID: team}); err != nil {
			t.Fatal(err)
		}
	}
	for team, want := range map[string]int{"team-a": 3, "team-b": 5} {
		var n int
		var role string
		if err := d.ReadInTeam(ctx, team, func(q db.Querier) error {
			return q.QueryRowContext(ctx, "SELECT count(*), current_user FROM findings").Scan(&n, &role)
		}); err != nil {
			t.Fatal(err)
		}
		if n != want || role != db.TenantRole {
			t.Errorf("%s's unfiltered count = %d as %s, want %d as %s", team, n, role, want, db.TenantRole)
		}
		// A write that names another team is refused by the policy.
		err := d.InTeam(ctx, team, func(q db.Querier) error {
			_, err := q.ExecContext(ctx, "UPDATE findings SET title = 'x' WHERE team_id <> $1", team)
			if err != nil {
				return err
			}
			return q.QueryRowContext(ctx, "SELECT count(*) FROM findings WHERE title = 'x'").Scan(&n)
		})
		if err != nil || n != 0 {
			t.Errorf("%s changed %d rows of another team (%v)", team, n, err)
		}
	}
}
