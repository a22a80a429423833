package imports

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/nativescans"
)

// progressEvery throttles progress writes during an import.
const progressEvery = time.Second

// ProgressSet records how far a running import got. It writes to the
// orchestration database, outside the import's own transaction (on SQLite,
// another file with its own writer), so that readers see it at once.
func (s *Service) ProgressSet(ctx context.Context, teamID, scanID string, itemsRead int) error {
	return s.Registry.Get(db.Orchestration).InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO job_progress (scan_id, team_id, items_read, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (scan_id) DO UPDATE SET items_read = excluded.items_read, updated_at = excluded.updated_at`,
			scanID, teamID, itemsRead, time.Now().UTC())
		return err
	})
}

// progressGet returns the recorded progress of an import, if any.
func (s *Service) progressGet(ctx context.Context, teamID, scanID string) (int, bool, error) {
	var n int
	err := s.Registry.Get(db.Orchestration).ReadInTeam(ctx, teamID, func(q db.Querier) error {
		return q.QueryRowContext(ctx, "SELECT items_read FROM job_progress WHERE team_id = $1 AND scan_id = $2", teamID, scanID).Scan(&n)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// WithProgress shows a queued import that a worker has started as running,
// with the items read so far: the committed record only changes when the
// import's transaction commits.
func (s *Service) WithProgress(ctx context.Context, rec nativescans.ScanResult) (nativescans.ScanResult, error) {
	if rec.Status != nativescans.StatusQueued && rec.Status != nativescans.StatusRunning {
		return rec, nil
	}
	n, ok, err := s.progressGet(ctx, rec.TeamID, rec.ID)
	if err != nil || !ok {
		return rec, err
	}
	rec.Status, rec.ItemsRead = nativescans.StatusRunning, n
	return rec, nil
}

// progressWriter returns a Progress callback for an import and a stop
// function to call once the import returns. The callback runs inside the
// import's native_scans transaction, so it only stores the count: a
// goroutine of its own writes it to the orchestration database at most once
// a second. Writing from the callback held one logical database's write
// transaction while it opened another's, which on SQLite's single writers
// deadlocked against a SubJob doing the reverse (docs/architecture.md).
func (s *Service) progressWriter(ctx context.Context, teamID, scanID string) (progress func(int), stop func()) {
	var latest atomic.Int64
	latest.Store(-1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		written := int64(-1)
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if n := latest.Load(); n != written {
				if err := s.ProgressSet(ctx, teamID, scanID, int(n)); err != nil {
					s.Logger.Warn("recording import progress failed", "scan_id", scanID, "err", err)
				}
				written = n
			}
		}
	}()
	return func(n int) { latest.Store(int64(n)) }, func() { close(done); <-finished }
}
