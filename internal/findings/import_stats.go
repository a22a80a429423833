package findings

// The import keeps PostgreSQL's statistics of the findings table current
// enough that its own lookups keep their index.

import (
	"context"

	"github.com/offloadsecurity/cspm/internal/db"
)

// refreshStatistics re-analyzes the findings table on PostgreSQL each time
// this import has inserted four times as many rows as at the last analyze.
// The table grows inside one transaction, where autovacuum cannot follow;
// with stale statistics the planner looked fingerprints up by scanning the
// team's rows, which made a 20,000-finding import quadratic (9.8 s, against
// about 3 s with this). ANALYZE counts the transaction's own new rows.
// analyzeFindings refreshes the statistics the import's own queries plan
// with: the row count and the columns they filter on. The other columns
// (descriptions, remediation) are most of the sampling work and autovacuum
// gets to them after the import commits.
const analyzeFindings = "ANALYZE findings (team_id, fingerprint, status, scope_key)"

func (r *importRun) refreshStatistics(inserted int) error {
	if !r.statisticsDue(inserted) {
		return nil
	}
	return r.d.Maintain(r.ctx, r.q, analyzeFindings)
}

// statisticsDue counts inserted new findings and tells whether the
// findings' statistics are due (see refreshStatistics).
func (r *importRun) statisticsDue(inserted int) bool {
	if r.dialect != db.Postgres {
		return false
	}
	r.inserted += inserted
	if r.inserted < r.analyzeAt {
		return false
	}
	r.analyzeAt = max(r.inserted*4, 2000)
	return true
}

// analyzeIfStale analyzes the findings table at the start of an import
// when it has grown more than four times over since its statistics were
// taken: the same rule refreshStatistics follows inside an import, so that
// the import after a big one (typically the same report again, before
// autovacuum got to the table) does not pay for an ANALYZE that changes no
// plan. Up to four times, the planner's estimates scale with the table's
// current size (it reads the size, not only the statistics), and the
// lookups keep their index (TestLookupPlanSurvivesStaleStatistics).
func (r *importRun) analyzeIfStale() error {
	if r.dialect != db.Postgres {
		return nil
	}
	analyzedPages, pages, err := findingsPages(r.ctx, r.q)
	if err != nil {
		return err
	}
	if !statisticsStale(analyzedPages, pages) {
		return nil
	}
	return r.d.Maintain(r.ctx, r.q, analyzeFindings)
}

// findingsPages returns the findings table's size in pages when its
// statistics were taken, and now (PostgreSQL).
func findingsPages(ctx context.Context, q db.Querier) (analyzed, now int64, err error) {
	err = q.QueryRowContext(ctx, `SELECT relpages, pg_relation_size(oid) / current_setting('block_size')::int8
		FROM pg_class WHERE oid = 'findings'::regclass`).Scan(&analyzed, &now)
	return analyzed, now, err
}

// statisticsStale tells whether a table of pages pages whose statistics
// were taken at analyzedPages needs new ones: once it is past a first
// couple of thousand findings (256 pages of 8 KiB) and more than four
// times its size then.
func statisticsStale(analyzedPages, pages int64) bool {
	return pages > 256 && pages > 4*analyzedPages
}
