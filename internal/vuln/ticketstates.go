package vuln

import (
	"context"

	"github.com/offloadsecurity/cspm/internal/db"
)

// OccurrenceCounts counts the team's occurrences of some vulnerabilities by
// status (open, fixed, accepted, not_affected, will_not_fix), in one query:
// the two-way ticket sync reads whether each is still open with it. A
// vulnerability the team has no occurrence of is left out.
func (s *Service) OccurrenceCounts(ctx context.Context, teamID string, ids []string) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	norm := make([]string, len(ids))
	for i, id := range ids {
		norm[i] = NormalizeID(id)
	}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		in, args := db.AnyOf(s.d.Dialect, "vuln_id", "text", 2, norm)
		rows, err := q.QueryContext(ctx, `SELECT vuln_id, status, count(*) FROM vuln_occurrences WHERE team_id = $1 AND `+in+`
			GROUP BY vuln_id, status`, append([]any{teamID}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id, status string
				n          int
			)
			if err := rows.Scan(&id, &status, &n); err != nil {
				return err
			}
			if out[id] == nil {
				out[id] = map[string]int{}
			}
			out[id][status] = n
		}
		return rows.Err()
	})
	return out, err
}
