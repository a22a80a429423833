package findings

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/ingest"
	"github.com/offloadsecurity/cspm/internal/tiers"
)

// Business tiers (internal/tiers): every finding carries the tightest tier
// of the business impact analyses that depend on its account, resource,
// target or tags, so that the explorer filters and sorts by it in the
// database. The importer sets it as it writes; SyncBusinessTiers rewrites
// stored findings when the analyses change.

// businessTiers is the team's map for an import, read before the import's
// transaction (never inside it: the analyses live in another logical
// database). A failure to read it does not fail the import: the findings
// are written without tiers and a sync is queued to set them.
func (s *Store) businessTiers(ctx context.Context, teamID string) *tiers.Map {
	if s.Tiers == nil {
		return nil
	}
	m, err := s.Tiers.BusinessTiers(ctx, teamID)
	if err != nil {
		if s.Logger != nil {
			s.Logger.Warn("business tiers unavailable: the import writes none, a sync will set them", "team_id", teamID, "err", err)
		}
		return tiers.Unavailable()
	}
	return m
}

// checkTiersCurrent queues a sync when the analyses changed while the
// import wrote with the map it read first: the sync that the change
// queued may have run before the import committed.
func (s *Store) checkTiersCurrent(ctx context.Context, teamID string, used *tiers.Map) {
	if s.Tiers == nil || s.TiersStale == nil || used == nil {
		return
	}
	now, err := s.Tiers.BusinessTiers(ctx, teamID)
	if err != nil || now.Revision != used.Revision {
		s.TiersStale(ctx, teamID)
	}
}

// tierOf is a finding's business tier under the import's map.
func (r *importRun) tierOf(f *ingest.Finding) int {
	return r.tiers.Of(f.AccountUID, f.ResourceUID, f.Target, f.Tags)
}

// updatedTier is the tier a changed finding is written with: NULL (keep
// the stored one) while the analyses cannot be read.
func (r *importRun) updatedTier(f *ingest.Finding) sql.NullInt64 {
	if r.tiers != nil && !r.tiers.Known() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(r.tierOf(f)), Valid: true}
}

// tierSyncBatch is how many findings one sync transaction rewrites: short
// transactions, so that an import waits for one batch at most.
const tierSyncBatch = 1000

// SyncBusinessTiers sets every finding of the team to its tier under m and
// records m's revision. Unless force is set, a team whose findings already
// carry m's revision is left alone (the periodic sync costs one read then).
// It returns how many findings changed tier.
func (s *Store) SyncBusinessTiers(ctx context.Context, teamID string, m *tiers.Map, force bool) (int, error) {
	if !force {
		var applied string
		err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
			return q.QueryRowContext(ctx, "SELECT revision FROM business_tier_state WHERE team_id = $1", teamID).Scan(&applied)
		})
		if err == nil && applied == m.Revision {
			return 0, nil
		}
	}
	// What changes, grouped by the tier read and the tier wanted: each
	// update names the tier it read, so that it never overwrites what an
	// import or a concurrent sync wrote meanwhile (the caller syncs again
	// when the analyses moved on during the pass: app.syncBusinessTiers).
	moves := map[[2]int][]int64{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, account_uid, resource_uid, target, resource_tags, business_tier FROM findings
			WHERE team_id = $1`, teamID)
		if err != nil {
			return fmt.Errorf("read findings for business tiers: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id                        int64
				account, resource, target string
				tags                      string
				tier                      int
			)
			if err := rows.Scan(&id, &account, &resource, &target, &tags, &tier); err != nil {
				return err
			}
			if want := m.Of(account, resource, target, tagsOf(tags)); want != tier {
				moves[[2]int{tier, want}] = append(moves[[2]int{tier, want}], id)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	changed := 0
	order := make([][2]int, 0, len(moves))
	for mv := range moves {
		order = append(order, mv)
	}
	sort.Slice(order, func(i, j int) bool { return order[i][0]*10+order[i][1] < order[j][0]*10+order[j][1] })
	for _, mv := range order {
		ids := moves[mv]
		for len(ids) > 0 {
			part := ids[:min(tierSyncBatch, len(ids))]
			ids = ids[len(part):]
			err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
				in, keys := db.AnyOf(s.d.Dialect, "id", "int8", 4, part)
				args := append([]any{teamID, mv[1], mv[0]}, keys...)
				r, err := q.ExecContext(ctx, "UPDATE findings SET business_tier = $2 WHERE team_id = $1 AND business_tier = $3 AND "+in, args...)
				if err != nil {
					return fmt.Errorf("set business tiers: %w", err)
				}
				n, _ := r.RowsAffected()
				changed += int(n)
				return dataVersions.Bump(ctx, q, teamID)
			})
			if err != nil {
				return changed, err
			}
		}
	}
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO business_tier_state (team_id, revision, applied_at) VALUES ($1, $2, $3)
			ON CONFLICT (team_id) DO UPDATE SET revision = excluded.revision, applied_at = excluded.applied_at`, teamID, m.Revision, s.now().UTC())
		return err
	})
	return changed, err
}
