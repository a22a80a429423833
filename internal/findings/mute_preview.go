package findings

import (
	"context"
	"fmt"

	"github.com/offloadsecurity/cspm/internal/db"
)

// notParked leaves out the findings a rule does not touch: those muted
// already (by a person, a risk acceptance or another rule) and those
// triaged out, whose state a person chose.
const notParked = "status NOT IN ('muted', 'false_positive', 'out_of_scope')"

// MutePreview is what a rule would mute if it were saved now.
type MutePreview struct {
	Matches int       `json:"matches" doc:"Stored findings the rule would mute now (not already muted or triaged out)."`
	Open    int       `json:"open" doc:"Of those, open or reopened failures."`
	Sample  []Finding `json:"sample" doc:"Up to 10 of them, the most severe first."`
}

// MuteRulePreview counts and samples the stored findings r would mute; the
// rule is checked as MuteRuleCreate checks it, but for its reason.
func (s *Store) MuteRulePreview(ctx context.Context, teamID string, r MuteRule) (MutePreview, error) {
	if r.Reason == "" {
		r.Reason = "preview"
	}
	if err := r.validate(); err != nil {
		return MutePreview{}, err
	}
	out := MutePreview{Sample: []Finding{}}
	w := &db.Where{}
	w.Add("team_id = %s", teamID)
	w.Conds = append(w.Conds, notParked)
	r.where(w)
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if err := q.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(CASE WHEN status IN ('open', 'reopened') THEN 1 ELSE 0 END), 0)
			FROM findings WHERE `+w.SQL(), w.Args...).Scan(&out.Matches, &out.Open); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM findings WHERE %s ORDER BY severity DESC, id DESC LIMIT 10", selectColumns, w.SQL()), w.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFinding(rows)
			if err != nil {
				return err
			}
			out.Sample = append(out.Sample, f)
		}
		return rows.Err()
	})
	return out, err
}
