package findings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/offloadsecurity/cspm/internal/db"
)

// CheckCompliance is the compliance map a tool writes into each finding of
// a check (Prowler's unmapped.compliance: framework -> requirement IDs),
// read from one finding of the check, with that finding's cloud provider,
// which names the edition of a benchmark (CIS 2.0 of AWS or of Azure).
type CheckCompliance struct {
	Provider     string
	Requirements map[string][]string
}

// CheckCompliance reads, for each of the given checks of a tool that the
// team has a finding of, the compliance map of one of its findings (every
// finding of a check carries the same map). A check whose findings carry
// none maps to an empty map; a check with no finding is left out.
func (s *Store) CheckCompliance(ctx context.Context, teamID, tool string, checks []string) (map[string]CheckCompliance, error) {
	out := make(map[string]CheckCompliance, len(checks))
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		for _, check := range checks {
			var (
				findingID int64
				provider  string
			)
			err := q.QueryRowContext(ctx, `SELECT id, provider FROM findings WHERE team_id = $1 AND check_id = $2 AND tool = $3 LIMIT 1`,
				teamID, check, tool).Scan(&findingID, &provider)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			raw, err := rawOCSF(ctx, q, teamID, findingID)
			if err != nil {
				return err
			}
			out[check] = CheckCompliance{Provider: provider, Requirements: unmappedCompliance(raw)}
		}
		return nil
	})
	return out, err
}

// unmappedCompliance reads unmapped.compliance from a raw OCSF finding:
// each framework's requirement IDs, given as a list or a single string.
func unmappedCompliance(raw json.RawMessage) map[string][]string {
	var doc struct {
		Unmapped struct {
			Compliance map[string]json.RawMessage `json:"compliance"`
		} `json:"unmapped"`
	}
	out := map[string][]string{}
	if len(raw) == 0 || json.Unmarshal(raw, &doc) != nil {
		return out
	}
	for framework, v := range doc.Unmapped.Compliance {
		var list []string
		if json.Unmarshal(v, &list) != nil {
			var one string
			if json.Unmarshal(v, &one) != nil {
				continue
			}
			list = []string{one}
		}
		for _, id := range list {
			if id = strings.TrimSpace(id); id != "" && strings.TrimSpace(framework) != "" {
				out[framework] = append(out[framework], id)
			}
		}
	}
	return out
}
