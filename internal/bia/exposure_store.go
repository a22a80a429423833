package bia

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/listcache"
)

// The findings part of analytics (exposure) is a pass over every open
// failing finding of the team: seconds at a million findings. It is
// computed once per state (the findings and vulnerability stores' data
// versions and the analyses' state key) and kept in bia_exposure, so that
// every API process serves it from there. When the state has moved on, a
// request is answered with the last exposure computed, marked stale with
// its time, and a refresh is queued (RefreshExposure, a River job): the
// answer stays fast whatever changed, and is current seconds later. Only a
// team that never had one computes it in the request.

// exposureSnapshot is the exposure computed for one state.
type exposureSnapshot struct {
	Key        string
	ComputedAt time.Time
	Duration   time.Duration
	Exposure   []Exposure
}

// exposureCache keeps snapshots in memory by state key.
var exposureCache listcache.Cache[exposureSnapshot]

// exposureKey is the state the exposure depends on; "" when the service
// has no sources to ask (tests).
func (s *Service) exposureKey(ctx context.Context, teamID string, t *teamState) (string, error) {
	if s.findings == nil || s.kev == nil || t.key == "" {
		return "", nil
	}
	fv, vv, err := s.storeVersions(ctx, teamID)
	if err != nil {
		return "", err
	}
	// The state key covers every version's dependencies, so every selector.
	// Hashed: it is stored, and listcache keys hold NULs.
	sum := sha256.Sum256([]byte(listcache.Key(teamID, fv, "bia-exposure", []any{vv, t.key})))
	return hex.EncodeToString(sum[:]), nil
}

// storeVersions are the findings and vulnerability stores' data versions
// of the team: every import, mute and KEV sync moves one of them.
func (s *Service) storeVersions(ctx context.Context, teamID string) (findings, vulns int64, err error) {
	if findings, err = s.findings.FindingsVersion(ctx, teamID); err != nil {
		return 0, 0, err
	}
	vulns, err = s.kev.VulnsVersion(ctx, teamID)
	return findings, vulns, err
}

// computeExposure runs the pass for the team's current state.
func (s *Service) computeExposure(ctx context.Context, teamID string, t *teamState, key string) (exposureSnapshot, error) {
	started := time.Now()
	// The time of the state, not of the end of the pass: a slower pass of
	// an older state must not pass for the newer one (saveExposure).
	at := s.now().UTC()
	ids := t.sortedIDs()
	ancestors, accounts, assets, tags := t.selectors(ids)
	exp, err := s.countExposure(ctx, teamID, t, ids, ancestors, accounts, assets, tags)
	if err != nil {
		return exposureSnapshot{}, err
	}
	return exposureSnapshot{Key: key, ComputedAt: at, Duration: time.Since(started), Exposure: exp}, nil
}

// loadExposure reads the team's stored exposure. Its data (a thousand
// processes' counts: hundreds of kilobytes of JSON) is read and decoded
// only when this process does not hold that snapshot decoded already
// (s.lastExposure): while a refresh runs, every request reads the same
// stale one.
func (s *Service) loadExposure(ctx context.Context, teamID string) (*exposureSnapshot, error) {
	var (
		snap exposureSnapshot
		at   db.Time
		ms   int64
		data string
	)
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		err := q.QueryRowContext(ctx, `SELECT state_key, computed_at, duration_ms FROM bia_exposure WHERE team_id = $1`, teamID).
			Scan(&snap.Key, &at, &ms)
		if err != nil {
			return err
		}
		if last, ok := s.lastExposure.Load(teamID); ok && last.(*exposureSnapshot).Key == snap.Key {
			return nil
		}
		return q.QueryRowContext(ctx, `SELECT data FROM bia_exposure WHERE team_id = $1`, teamID).Scan(&data)
	})
	if errors.Is(db.MapError(err), db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the stored exposure: %w", err)
	}
	if data == "" { // held decoded (a state key never names an empty snapshot: "[]" at least)
		last, _ := s.lastExposure.Load(teamID)
		return last.(*exposureSnapshot), nil
	}
	if err := json.Unmarshal([]byte(data), &snap.Exposure); err != nil {
		return nil, fmt.Errorf("decode the stored exposure: %w", err)
	}
	snap.ComputedAt, snap.Duration = at.UTC(), time.Duration(ms)*time.Millisecond
	s.lastExposure.Store(teamID, &snap)
	return &snap, nil
}

func (s *Service) saveExposure(ctx context.Context, teamID string, snap exposureSnapshot) error {
	data, err := json.Marshal(snap.Exposure)
	if err != nil {
		return err
	}
	s.lastExposure.Store(teamID, &snap)
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		// Only a snapshot of a later state replaces the stored one: two
		// refreshes may finish out of order.
		_, err := q.ExecContext(ctx, `INSERT INTO bia_exposure (team_id, state_key, computed_at, duration_ms, data) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (team_id) DO UPDATE SET state_key = excluded.state_key, computed_at = excluded.computed_at,
			duration_ms = excluded.duration_ms, data = excluded.data
			WHERE bia_exposure.computed_at <= excluded.computed_at`, teamID, snap.Key, snap.ComputedAt, snap.Duration.Milliseconds(), string(data))
		return err
	})
}

// RefreshExposure computes and stores the team's exposure unless the
// stored one is current; the River job runs it. It reports whether it
// computed.
func (s *Service) RefreshExposure(ctx context.Context, teamID string) (bool, error) {
	t, err := s.derived(ctx, teamID)
	if err != nil {
		return false, err
	}
	key, err := s.exposureKey(ctx, teamID, t)
	if err != nil || key == "" {
		return false, err
	}
	if stored, err := s.loadExposure(ctx, teamID); err != nil || (stored != nil && stored.Key == key) {
		return false, err
	}
	snap, err := exposureCache.Get(key, func() (exposureSnapshot, error) { return s.computeExposure(ctx, teamID, t, key) })
	if err != nil {
		return false, err
	}
	return true, s.saveExposure(ctx, teamID, snap)
}

// refreshAskedAgain is how long a process waits for a refresh it asked
// for before asking again (the job may have failed, or never been queued).
const refreshAskedAgain = time.Minute

type refreshAsk struct {
	key string
	at  time.Time
}

// askRefresh queues a refresh of the team once per state this process has
// seen stale, and again if that state is still stale a minute later.
func (s *Service) askRefresh(ctx context.Context, teamID, key string) {
	if s.refresh == nil {
		return
	}
	now := time.Now()
	if prev, ok := s.refreshAsked.Load(teamID); ok {
		if p := prev.(refreshAsk); p.key == key && now.Sub(p.at) < refreshAskedAgain {
			return
		}
	}
	s.refreshAsked.Store(teamID, refreshAsk{key: key, at: now})
	s.refresh(ctx, teamID)
}

// exposure is the exposure to show for the team's current state, and
// whether it is the last computed one of an earlier state (stale).
func (s *Service) exposure(ctx context.Context, teamID string, t *teamState) (exposureSnapshot, bool, error) {
	key, err := s.exposureKey(ctx, teamID, t)
	if err != nil {
		return exposureSnapshot{}, false, err
	}
	if key == "" || s.noCache {
		snap, err := s.computeExposure(ctx, teamID, t, key)
		return snap, false, err
	}
	if snap, ok := exposureCache.Peek(key); ok {
		return snap, false, nil
	}
	stored, err := s.loadExposure(ctx, teamID)
	if err != nil {
		return exposureSnapshot{}, false, err
	}
	if stored != nil && stored.Key == key {
		snap, err := exposureCache.Get(key, func() (exposureSnapshot, error) { return *stored, nil })
		return snap, false, err
	}
	if stored != nil && s.refresh != nil {
		s.askRefresh(ctx, teamID, key)
		return *stored, true, nil
	}
	snap, err := exposureCache.Get(key, func() (exposureSnapshot, error) {
		snap, err := s.computeExposure(ctx, teamID, t, key)
		if err == nil {
			err = s.saveExposure(ctx, teamID, snap)
		}
		return snap, err
	})
	return snap, false, err
}
