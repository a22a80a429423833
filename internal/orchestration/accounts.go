package orchestration

import (
	"context"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// AccountScans is what the cloud accounts list shows of an account's scans:
// its newest ScanRun and when a schedule runs it next.
type AccountScans struct {
	LastRun   *ScanRun
	NextRunAt *time.Time
}

// AccountScansOf returns, per cloud account ID of the team, its newest run
// and the next run of its enabled schedules. Two queries whatever the
// number of accounts; accounts with neither are absent.
func (s *Service) AccountScansOf(ctx context.Context, teamID string) (map[string]AccountScans, error) {
	out := map[string]AccountScans{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		// The newest run per account: the highest created_at, the lowest ID
		// among equals, as ScanRunList orders them.
		rows, err := q.QueryContext(ctx, `SELECT `+runColumns+` FROM scan_runs r WHERE team_id = $1 AND account_id <> ''
			AND NOT EXISTS (SELECT 1 FROM scan_runs n WHERE n.team_id = r.team_id AND n.account_id = r.account_id
				AND (n.created_at > r.created_at OR (n.created_at = r.created_at AND n.id < r.id)))`, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return err
			}
			e := out[r.AccountID]
			e.LastRun = &r
			out[r.AccountID] = e
		}
		if err := rows.Err(); err != nil {
			return err
		}
		next, err := q.QueryContext(ctx, `SELECT account_id, min(next_run_at) FROM scan_schedules WHERE team_id = $1 AND enabled = TRUE
			GROUP BY account_id`, teamID)
		if err != nil {
			return err
		}
		defer next.Close()
		for next.Next() {
			var (
				id string
				at db.NullTime
			)
			if err := next.Scan(&id, &at); err != nil {
				return err
			}
			if at.Valid {
				e := out[id]
				t := at.Time.UTC()
				e.NextRunAt = &t
				out[id] = e
			}
		}
		return next.Err()
	})
	return out, err
}
