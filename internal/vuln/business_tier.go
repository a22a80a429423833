package vuln

import (
	"context"
	"fmt"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/tiers"
)

// Business tiers (internal/tiers): an occurrence carries the tightest tier
// of the business impact analyses that depend on its asset, set as a scan
// records it and rewritten by SyncBusinessTiers when the analyses change;
// the priority reads it (priority.go).

// businessTiers is the team's map, read before the recording transaction
// (the analyses live in another logical database). Without one, or when it
// cannot be read, occurrences keep the tiers they have until a sync.
func (s *Service) businessTiers(ctx context.Context, teamID string) *tiers.Map {
	if s.Tiers == nil {
		return nil
	}
	m, err := s.Tiers.BusinessTiers(ctx, teamID)
	if err != nil {
		return nil
	}
	return m
}

// applyTiers sets the tier of the team's occurrences that match where
// (over vuln_occurrences, its parameters from $2 on) to their asset's
// under m, and returns the IDs it changed. A nil map changes nothing.
func applyTiers(ctx context.Context, q db.Querier, teamID string, m *tiers.Map, where string, args ...any) ([]int64, error) {
	if m == nil {
		return nil, nil
	}
	type row struct {
		id   int64
		tier int
	}
	var moves []row
	err := func() error {
		rows, err := q.QueryContext(ctx, "SELECT id, asset, business_tier FROM vuln_occurrences WHERE team_id = $1 AND "+where,
			append([]any{teamID}, args...)...)
		if err != nil {
			return fmt.Errorf("read occurrences for business tiers: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id    int64
				asset string
				tier  int
			)
			if err := rows.Scan(&id, &asset, &tier); err != nil {
				return err
			}
			if want := m.OfAsset(asset); want != tier {
				moves = append(moves, row{id, want})
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(moves))
	for _, mv := range moves {
		if _, err := q.ExecContext(ctx, "UPDATE vuln_occurrences SET business_tier = $1 WHERE team_id = $2 AND id = $3", mv.tier, teamID, mv.id); err != nil {
			return nil, fmt.Errorf("set business tier: %w", err)
		}
		ids = append(ids, mv.id)
	}
	return ids, nil
}

// SyncBusinessTiers sets every occurrence of the team to its asset's tier
// under m, scores the changed ones again and records m's revision. Unless
// force is set, a team already at m's revision is left alone. It returns
// how many occurrences changed tier.
func (s *Service) SyncBusinessTiers(ctx context.Context, teamID string, m *tiers.Map, force bool) (int, error) {
	n := 0
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if !force {
			var applied string
			err := q.QueryRowContext(ctx, "SELECT revision FROM business_tier_state WHERE team_id = $1", teamID).Scan(&applied)
			if err == nil && applied == m.Revision {
				return nil
			}
		}
		ids, err := applyTiers(ctx, q, teamID, m, "1 = 1")
		if err != nil {
			return err
		}
		n = len(ids)
		for len(ids) > 0 {
			part := ids[:min(500, len(ids))]
			ids = ids[len(part):]
			in, keys := db.AnyOf(s.d.Dialect, "o.id", "int8", 2, part)
			if _, err := rescore(ctx, q, "o.team_id = $1 AND "+in, append([]any{teamID}, keys...)...); err != nil {
				return err
			}
		}
		if n > 0 {
			if err := dataVersions.Bump(ctx, q, teamID); err != nil {
				return err
			}
		}
		_, err = q.ExecContext(ctx, `INSERT INTO business_tier_state (team_id, revision, applied_at) VALUES ($1, $2, $3)
			ON CONFLICT (team_id) DO UPDATE SET revision = excluded.revision, applied_at = excluded.applied_at`, teamID, m.Revision, s.now().UTC())
		return err
	})
	return n, err
}
