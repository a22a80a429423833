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
		if s.Logger != nil {
			s.Logger.Warn("business tiers unavailable: occurrences keep theirs, a sync will set them", "team_id", teamID, "err", err)
		}
		return tiers.Unavailable()
	}
	return m
}

// checkTiersCurrent queues a forced sync when the analyses changed while
// occurrences were recorded with the map read first (the sync the change
// queued may have run before they committed), or when no map could be read.
func (s *Service) checkTiersCurrent(ctx context.Context, teamID string, used *tiers.Map) {
	if s.Tiers == nil || s.TiersStale == nil || used == nil {
		return
	}
	now, err := s.Tiers.BusinessTiers(ctx, teamID)
	if err != nil || now.Revision != used.Revision {
		s.TiersStale(ctx, teamID)
	}
}

// applyTiers sets the tier of the team's occurrences that match where
// (over vuln_occurrences, its parameters from $2 on) to their asset's
// under m, and returns the IDs it changed. A nil or Unavailable map
// changes nothing.
func applyTiers(ctx context.Context, q db.Querier, teamID string, m *tiers.Map, where string, args ...any) ([]int64, error) {
	if !m.Known() {
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
// force is set, a team already at m's revision is left alone (one read).
// Occurrences are rewritten 500 at a time, each batch in its own
// transaction and naming the tier it read, so that a scan recording at the
// same time waits for one batch at most and is never overwritten. It
// returns how many occurrences changed tier.
func (s *Service) SyncBusinessTiers(ctx context.Context, teamID string, m *tiers.Map, force bool) (int, error) {
	var moves map[[2]int][]int64
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if !force {
			var applied string
			err := q.QueryRowContext(ctx, "SELECT revision FROM business_tier_state WHERE team_id = $1", teamID).Scan(&applied)
			if err == nil && applied == m.Revision {
				return nil
			}
		}
		var err error
		moves, err = tierMoves(ctx, q, teamID, m)
		return err
	})
	if err != nil || moves == nil {
		return 0, err
	}
	n := 0
	for mv, ids := range moves {
		for len(ids) > 0 {
			part := ids[:min(500, len(ids))]
			ids = ids[len(part):]
			err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
				in, keys := db.AnyOf(s.d.Dialect, "id", "int8", 4, part)
				r, err := q.ExecContext(ctx, "UPDATE vuln_occurrences SET business_tier = $2 WHERE team_id = $1 AND business_tier = $3 AND "+in,
					append([]any{teamID, mv[1], mv[0]}, keys...)...)
				if err != nil {
					return fmt.Errorf("set business tiers: %w", err)
				}
				c, _ := r.RowsAffected()
				n += int(c)
				in, keys = db.AnyOf(s.d.Dialect, "o.id", "int8", 2, part)
				if _, err := rescore(ctx, q, "o.team_id = $1 AND "+in, append([]any{teamID}, keys...)...); err != nil {
					return err
				}
				return dataVersions.Bump(ctx, q, teamID)
			})
			if err != nil {
				return n, err
			}
		}
	}
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO business_tier_state (team_id, revision, applied_at) VALUES ($1, $2, $3)
			ON CONFLICT (team_id) DO UPDATE SET revision = excluded.revision, applied_at = excluded.applied_at`, teamID, m.Revision, s.now().UTC())
		return err
	})
	return n, err
}

// tierMoves reads the team's occurrences whose tier differs from their
// asset's under m, grouped by the tier read and the tier wanted.
func tierMoves(ctx context.Context, q db.Querier, teamID string, m *tiers.Map) (map[[2]int][]int64, error) {
	moves := map[[2]int][]int64{}
	rows, err := q.QueryContext(ctx, "SELECT id, asset, business_tier FROM vuln_occurrences WHERE team_id = $1", teamID)
	if err != nil {
		return nil, fmt.Errorf("read occurrences for business tiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			asset string
			tier  int
		)
		if err := rows.Scan(&id, &asset, &tier); err != nil {
			return nil, err
		}
		if want := m.OfAsset(asset); want != tier {
			moves[[2]int{tier, want}] = append(moves[[2]int{tier, want}], id)
		}
	}
	return moves, rows.Err()
}
