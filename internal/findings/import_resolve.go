package findings

// How an import resolves the findings of its scopes that the report no
// longer lists, and records what each scope's latest import reported.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
)

// scopeList returns the scopes this import covered.
func (r *importRun) scopeList() []string {
	scopes := make([]string, 0, len(r.scopes))
	for s := range r.scopes {
		scopes = append(scopes, s)
	}
	return scopes
}

// resolveMissing ends an import's pass over the scopes it covered: their
// findings this report no longer lists are resolved if they were open (the
// thing was fixed or is gone), and those last seen by the scope's latest
// import get that sighting written out; then this import becomes each
// scope's latest.
func (r *importRun) resolveMissing() error {
	if len(r.scopes) == 0 {
		return nil
	}
	scopes := r.scopeList()
	var missing []gone
	all, err := r.everyFindingReported(scopes)
	if err == nil && !all {
		missing, err = r.missing(scopes)
	}
	if err != nil {
		return fmt.Errorf("find missing findings: %w", err)
	}
	var (
		open []gone
		left []int64
	)
	for _, g := range missing {
		if g.status == StatusOpen || g.status == StatusReopened {
			open = append(open, g)
		}
		if g.inLatest {
			left = append(left, g.id)
		}
	}
	if err := r.leaveLatest(left); err != nil {
		return err
	}
	for start := 0; start < len(open); start += batchSize {
		chunk := open[start:min(start+batchSize, len(open))]
		ids := make([]int64, 0, len(chunk))
		hist := make([]any, 0, len(chunk)*7)
		for _, g := range chunk {
			ids = append(ids, g.id)
			hist = append(hist, r.teamID, g.id, r.scanID, r.now, "resolved", g.status, StatusResolved)
		}
		where, args := r.teamRows("id", 2, ids)
		if err := r.resolve(where, args); err != nil {
			return fmt.Errorf("resolve missing findings: %w", err)
		}
		if _, err := r.q.ExecContext(r.ctx, r.bind("INSERT INTO finding_history (team_id, finding_id, scan_id, at, change, from_status, to_status) VALUES "+
			db.Placeholders(len(chunk), 7, 1)), hist...); err != nil {
			return err
		}
	}
	r.res.FindingsResolved += len(open)
	for _, scope := range scopes {
		if _, err := r.q.ExecContext(r.ctx, `INSERT INTO scope_latest (team_id, scope_key, scan_id, seen_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (team_id, scope_key) DO UPDATE SET scan_id = excluded.scan_id, seen_at = excluded.seen_at`,
			r.teamID, scope, r.scanID, r.now); err != nil {
			return fmt.Errorf("record the scope's latest import: %w", err)
		}
	}
	return nil
}

// resolve marks the findings where selects resolved, and notes their
// checks: a compliance sync must score them again.
func (r *importRun) resolve(where string, args []any) error {
	rows, err := r.q.QueryContext(r.ctx, r.bind("UPDATE findings SET status = 'resolved', resolved_at = $1 WHERE "+where+" RETURNING check_id"),
		append([]any{r.now}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var check string
		if err := rows.Scan(&check); err != nil {
			return err
		}
		r.checks[check] = true
	}
	return rows.Err()
}

// leaveLatest writes out the last sighting of findings that their scope's
// latest import reported and this one does not: that import's (before this
// one takes its place).
func (r *importRun) leaveLatest(ids []int64) error {
	for start := 0; start < len(ids); start += batchSize {
		in, args := db.AnyOf(r.dialect, "f.id", "int8", 2, ids[start:min(start+batchSize, len(ids))])
		if _, err := r.q.ExecContext(r.ctx, r.bind(`INSERT INTO finding_seen (finding_id, team_id, last_seen, last_scan_id)
			SELECT f.id, f.team_id, COALESCE(sl.seen_at, f.first_seen), COALESCE(sl.scan_id, f.first_scan_id)
			FROM findings f LEFT JOIN scope_latest sl ON sl.team_id = f.team_id AND sl.scope_key = f.scope_key
			WHERE `+db.NotIndexed(r.dialect, "f.team_id")+` = $1 AND `+in), append([]any{r.teamID}, args...)...); err != nil {
			return fmt.Errorf("keep the last sighting of missing findings: %w", err)
		}
	}
	return nil
}

// everyFindingReported tells whether the given scopes hold only findings
// this import created or reported, so that none can be missing: then a
// count of their findings from an index answers what missing would answer
// by reading every one of them (a first import's and an unchanged
// re-import's 100,000). The findings this import created and the distinct
// ones an earlier scan created that it reported (where they are stored) are
// different findings of those scopes, so the count is at least their sum,
// and equal to it only when there is no other. Findings an earlier part of
// the same scan created are in neither: missing then decides.
func (r *importRun) everyFindingReported(scopes []string) (bool, error) {
	covered := make([]bool, len(r.storedScopes))
	for scope, i := range r.storedScopes {
		covered[i] = r.scopes[scope]
	}
	ids := make([]int64, 0, len(r.reported))
	for i, scope := range r.reportedScope {
		if scope >= 0 && covered[scope] {
			ids = append(ids, r.reported[i])
		}
	}
	slices.Sort(ids)
	earlier := len(slices.Compact(ids)) // a finding reported in two batches is one
	in, args := db.AnyOf(r.dialect, "scope_key", "text", 2, scopes)
	var stored int
	if err := r.q.QueryRowContext(r.ctx, r.bind("SELECT count(*) FROM findings WHERE team_id = $1 AND "+in),
		append([]any{r.teamID}, args...)...).Scan(&stored); err != nil {
		return false, err
	}
	return stored == r.res.FindingsCreated+earlier, nil
}

// noteReported remembers a stored finding this import reported, and the
// scope it is stored under unless this scan created it, in 12 bytes: the
// lookup's strings stay behind.
func (r *importRun) noteReported(old existing) {
	r.reported = append(r.reported, old.id)
	if old.thisScan {
		r.reportedScope = append(r.reportedScope, -1)
		return
	}
	if r.storedScopes == nil {
		r.storedScopes = map[string]int32{}
	}
	i, ok := r.storedScopes[old.scopeKey]
	if !ok {
		i = int32(len(r.storedScopes)) //nolint:gosec // G115: an import has far fewer scopes than findings
		r.storedScopes[old.scopeKey] = i
	}
	r.reportedScope = append(r.reportedScope, i)
}

type gone struct {
	id       int64
	status   string
	inLatest bool
}

// missing lists the findings of the given scopes that are open or last
// seen by their scope's latest import, and that this import did not report:
// neither new in it, nor written out as seen by it, nor in a scope an
// earlier part of the same scan covered (last seen by this scan, then), nor
// found by it (r.reported).
func (r *importRun) missing(scopes []string) ([]gone, error) {
	in, keys := db.AnyOf(r.dialect, "f.scope_key", "text", 2, scopes)
	n := 1 + len(keys)
	query := fmt.Sprintf(`SELECT f.id, f.status, s.finding_id IS NULL FROM findings f LEFT JOIN finding_seen s ON s.finding_id = f.id
		WHERE f.team_id = $1 AND %s AND CASE WHEN s.finding_id IS NULL
			THEN f.first_scan_id <> $%d AND f.scope_key NOT IN (SELECT scope_key FROM scope_latest WHERE team_id = $%d AND scan_id = $%d)
			ELSE s.last_scan_id <> $%d AND f.status IN ('open', 'reopened') END`, in, n+1, n+2, n+3, n+4)
	args := append([]any{r.teamID}, keys...)
	args = append(args, r.scanID, r.teamID, r.scanID, r.scanID)
	// The database leaves out what this import reported instead of sending
	// back every finding of the scopes (a re-import's 100,000): PostgreSQL
	// from an array (a hash anti-join), SQLite from a JSON array, which it
	// reads once into a temporary index.
	if r.dialect == db.Postgres {
		query += fmt.Sprintf(" AND NOT EXISTS (SELECT 1 FROM unnest($%d::int8[]) AS reported(id) WHERE reported.id = f.id)", n+5)
		args = append(args, r.reported)
	} else if len(r.reported) > 0 {
		// (A nil slice would be JSON null, one NULL value: NOT IN would then
		// hold for no finding.)
		reported, err := json.Marshal(r.reported)
		if err != nil {
			return nil, err
		}
		query += fmt.Sprintf(" AND f.id NOT IN (SELECT value FROM json_each($%d))", n+5)
		args = append(args, string(reported))
	}
	rows, err := r.q.QueryContext(r.ctx, r.bind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.status, &g.inLatest); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// coverUnder adds to the import's scopes every stored scope whose key
// starts with prefix (a directory's scope key and a slash): the targets a
// scan of the directory covered, each lockfile of a checkout.
func (r *importRun) coverUnder(prefix string) error {
	escaped := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix)
	rows, err := r.q.QueryContext(r.ctx, `SELECT DISTINCT scope_key FROM findings WHERE team_id = $1 AND scope_key LIKE $2 ESCAPE '\'`,
		r.teamID, escaped+"%")
	if err != nil {
		return fmt.Errorf("scopes under %s: %w", prefix, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return err
		}
		r.scopes[key] = true
	}
	return rows.Err()
}
