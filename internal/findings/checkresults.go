package findings

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// CheckResult is the current state of one check of one tool over a team's
// findings, counted in resources: what the compliance engine scores
// controls from. A finding is one resource of one check (its fingerprint
// includes both), so a count of findings is a count of resources.
type CheckResult struct {
	Tool    string `json:"tool"`
	CheckID string `json:"check_id"`
	// Passed: resources whose finding is resolved by a passing result.
	Passed int `json:"passed"`
	// Failed: resources whose finding is open or reopened with a failing result.
	Failed int `json:"failed"`
	// Muted: resources whose finding is muted or risk-accepted, whatever its result.
	Muted int `json:"muted"`
	// Manual: resources whose finding needs a person (Prowler MANUAL), open.
	Manual int `json:"manual"`
	// LastScanID and LastScanAt name the newest import or scan of the
	// tool in the team (the newest that covered any of its scopes).
	LastScanID string     `json:"last_scan_id"`
	LastScanAt *time.Time `json:"last_scan_at,omitempty"`
}

// CheckResults counts, per tool and check, the team's resources by current
// result; checks nil means every check. A finding resolved because a later
// scan no longer reported it (its last result still a failure) counts as
// neither passed nor failed: the resource is gone, not fixed.
//
// One pass over the (team, check, tool, status, result) index (native_scans
// 0014), grouped in index order: 1,000,000 findings are 1,000,000 index
// entries and a few thousand groups. Grouping by scope as well, to name each
// check's own newest scan, made SQLite's pass ten times slower, so the
// newest scan is the tool's, from scope_latest (one row per scope).
func (s *Store) CheckResults(ctx context.Context, teamID string, checks []string) ([]CheckResult, error) {
	if checks != nil && len(checks) == 0 {
		return []CheckResult{}, nil
	}
	type key struct{ tool, check string }
	byCheck := map[key]*CheckResult{}
	var order []key
	type scan struct {
		id string
		at time.Time
	}
	newest := map[string]scan{} // by tool
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if err := db.NoJIT(ctx, s.d, q); err != nil {
			return err
		}
		w := &db.Where{}
		w.Add("team_id = %s", teamID)
		if checks != nil {
			cond, args := db.AnyOf(s.d.Dialect, "check_id", "text", len(w.Args)+1, checks)
			w.Conds, w.Args = append(w.Conds, cond), append(w.Args, args...)
		}
		rows, err := q.QueryContext(ctx, `SELECT tool, check_id, status, result, COUNT(*)
			FROM findings WHERE `+w.SQL()+` GROUP BY check_id, tool, status, result`, w.Args...)
		if err != nil {
			return fmt.Errorf("check results: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var status, result string
			var n int
			if err := rows.Scan(&k.tool, &k.check, &status, &result, &n); err != nil {
				return err
			}
			r := byCheck[k]
			if r == nil {
				r = &CheckResult{Tool: k.tool, CheckID: k.check}
				byCheck[k] = r
				order = append(order, k)
			}
			switch {
			case parked(status): // muted, risk-accepted or triaged out
				r.Muted += n
			case status == StatusResolved && result == "pass":
				r.Passed += n
			case (status == StatusOpen || status == StatusReopened) && result == "fail":
				r.Failed += n
			case (status == StatusOpen || status == StatusReopened) && result == "manual":
				r.Manual += n
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		srows, err := q.QueryContext(ctx, `SELECT scope_key, scan_id, seen_at FROM scope_latest WHERE team_id = $1`, teamID)
		if err != nil {
			return err
		}
		defer srows.Close()
		for srows.Next() {
			var scope, id string
			var at db.NullTime
			if err := srows.Scan(&scope, &id, &at); err != nil {
				return err
			}
			tool, _, _ := strings.Cut(scope, "|")
			if old, ok := newest[tool]; !ok || at.Time.After(old.at) {
				newest[tool] = scan{id, at.Time}
			}
		}
		return srows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]CheckResult, 0, len(order))
	for _, k := range order {
		r := byCheck[k]
		if sc, ok := newest[k.tool]; ok {
			at := sc.at.UTC()
			r.LastScanID, r.LastScanAt = sc.id, &at
		}
		out = append(out, *r)
	}
	return out, nil
}
