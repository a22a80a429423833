package findings

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

func TestStatisticsStale(t *testing.T) {
	for _, c := range []struct {
		analyzed, now int64
		want          bool
	}{
		{0, 0, false},     // an empty, never analyzed table
		{0, 256, false},   // too small to matter
		{0, 300, true},    // past the first couple of thousand findings, never analyzed
		{100, 400, false}, // four times over: estimates scale with the size
		{100, 401, true},
		{5000, 16000, false}, // after a 100,000-finding import analyzed at 32,000
		{5000, 25000, true},
	} {
		if got := statisticsStale(c.analyzed, c.now); got != c.want {
			t.Errorf("statisticsStale(%d, %d) = %v, want %v", c.analyzed, c.now, got, c.want)
		}
	}
}

// A batch's lookup keeps the fingerprint index with the statistics a new
// database starts with (taken while the table was empty): the import
// refreshes them as it grows the table. With the empty table's statistics
// PostgreSQL scanned every finding of the team for each batch instead,
// which made an import quadratic. Statistics are PostgreSQL's; SQLite's
// plan has its own test (internal/db, NotIndexed).
func TestLookupPlanSurvivesStaleStatistics(t *testing.T) {
	t.Parallel()
	u := dbtest.PostgresURL(t)
	if u == "" {
		t.Skip("set CSPM_TEST_POSTGRES_URL: the planner statistics are PostgreSQL's")
	}
	reg := dbtest.Open(t, dbtest.Engine{Name: "postgres", URL: u})
	d := reg.Get(db.NativeScans)
	ctx := context.Background()
	const team = "t1"
	inTeam := func(fn func(q db.Querier) error) {
		t.Helper()
		if err := d.InTeam(ctx, team, fn); err != nil {
			t.Fatal(err)
		}
	}
	inTeam(func(q db.Querier) error { _, err := q.ExecContext(ctx, "ANALYZE findings"); return err })

	// Big enough, with rows about as wide as real ones, that scanning the
	// team's findings costs more than looking each fingerprint up, as it
	// does for real imports.
	const n = 20000
	desc := strings.Repeat("d", 1000)
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"class_uid":2004,"status_code":"FAIL","finding_info":{"uid":"uid-%d","title":"t"},"status_detail":"%s","metadata":{"event_code":"c%d"},"cloud":{"account":{"uid":"a%d"},"region":"r%d"}}`,
			i, desc, i%50, i%3, i%7)
	}
	res, err := NewStore(reg).Import(ctx, strings.NewReader("["+strings.Join(items, ",")+"]"), ImportParams{TeamID: team})
	if err != nil || res.FindingsCreated != n {
		t.Fatalf("import = %+v, %v", res, err)
	}
	var fps, plan []string
	inTeam(func(q db.Querier) (err error) {
		fps, err = db.QueryStrings(ctx, q, "SELECT fingerprint FROM findings ORDER BY id DESC LIMIT $1", batchSize)
		return err
	})
	if len(fps) != batchSize {
		t.Fatalf("read %d fingerprints", len(fps))
	}

	r := &importRun{dialect: db.Postgres, teamID: team}
	query, args := r.lookupStatement(fps)
	inTeam(func(q db.Querier) (err error) {
		if _, err := q.ExecContext(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			return err
		}
		plan, err = db.QueryStrings(ctx, q, "EXPLAIN "+query, args...)
		return err
	})
	if !strings.Contains(strings.Join(plan, "\n"), "findings_team_id_fingerprint_key") {
		for i, line := range plan {
			plan[i] = line[:min(len(line), 160)] // the fingerprint array runs on
		}
		t.Fatalf("the lookup does not use the fingerprint index:\n%s", strings.Join(plan, "\n"))
	}

	// The import left statistics that the next one keeps.
	inTeam(func(q db.Querier) error {
		analyzed, pages, err := findingsPages(ctx, q)
		if err != nil {
			return err
		}
		if analyzed == 0 || statisticsStale(analyzed, pages) {
			t.Errorf("after the import: statistics taken at %d pages, table at %d: stale", analyzed, pages)
		}
		return nil
	})
}
