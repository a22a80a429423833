package compliance

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// SyncArgs is the compliance_sync job: score one team again, fully or for
// the controls some checks reach.
type SyncArgs struct {
	TeamID string `json:"team_id"`
	// Full scores every control; otherwise Checks are the check IDs whose
	// results changed.
	Full   bool     `json:"full"`
	Checks []string `json:"checks,omitempty"`
}

// Kind names the job.
func (SyncArgs) Kind() string { return "compliance_sync" }

// SyncWorker runs SyncArgs.
type SyncWorker struct {
	river.WorkerDefaults[SyncArgs]
	Service *Service
}

// Work syncs the team.
func (w *SyncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	var checks []string
	if !job.Args.Full {
		checks = job.Args.Checks
		if checks == nil {
			checks = []string{}
		}
	}
	res, err := w.Service.Engine.Sync(ctx, job.Args.TeamID, checks)
	if err != nil {
		return err
	}
	w.Service.logger.Info("compliance synced", "team_id", job.Args.TeamID, "full", res.Full, "controls", res.ControlsTouched,
		"duration_ms", res.DurationMS)
	return nil
}

// Timeout bounds one sync.
func (w *SyncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return 10 * time.Minute }

// Enqueuer is the part of a River client EnqueueSyncTx uses.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// EnqueueSyncTx inserts a compliance_sync job for the team in tx (a
// transaction of River's database, the one that records the import or
// scan), so the sync exists exactly when what it scores does. checks are
// the check IDs whose results the import changed, including findings it
// resolved because a report no longer lists them; nil means a full sync,
// which is right whenever that set is not known.
func EnqueueSyncTx(ctx context.Context, tx *sql.Tx, client Enqueuer, teamID string, checks []string) error {
	args := SyncArgs{TeamID: teamID, Full: checks == nil, Checks: checks}
	if _, err := client.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("enqueue compliance sync: %w", err)
	}
	return nil
}

// SnapshotArgs is the compliance_snapshot job (daily per team): a full sync of every
// team, which writes the day's snapshot of every score (trends) and lets
// lapsed attestations go.
type SnapshotArgs struct {
	// Force syncs every team even if it was fully synced today on the
	// current content (after a content import).
	Force bool `json:"force,omitempty"`
}

// Kind names the job.
func (SnapshotArgs) Kind() string { return "compliance_snapshot" }

// SnapshotWorker runs SnapshotArgs.
type SnapshotWorker struct {
	river.WorkerDefaults[SnapshotArgs]
	Service *Service
	// Teams lists every team's ID.
	Teams func(ctx context.Context) ([]string, error)
}

// Work syncs every team that is due; one team's failure does not stop the others.
func (w *SnapshotWorker) Work(ctx context.Context, job *river.Job[SnapshotArgs]) error {
	teams, err := w.Teams(ctx)
	if err != nil {
		return err
	}
	today := w.Service.now().UTC().Format(time.DateOnly)
	var failed int
	for _, teamID := range teams {
		if !job.Args.Force {
			st, err := w.Service.SyncStatusGet(ctx, teamID)
			if err == nil && st.LastFullAt != nil && st.LastFullAt.UTC().Format(time.DateOnly) == today && st.ContentVersion == st.CurrentVersion &&
				st.LastError == "" {
				continue
			}
		}
		if _, err := w.Service.Engine.Sync(ctx, teamID, nil); err != nil {
			failed++
			w.Service.logger.Warn("compliance snapshot failed", "team_id", teamID, "err", err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("compliance snapshot: %d of %d teams failed", failed, len(teams))
	}
	return nil
}

// Timeout bounds the snapshot of every team.
func (w *SnapshotWorker) Timeout(*river.Job[SnapshotArgs]) time.Duration { return time.Hour }

// SnapshotEvery is how often the snapshot job is scheduled (and it runs
// when the leader starts): the job skips teams already fully synced today
// on the current content, so each team gets one snapshot a day, within an
// hour of midnight UTC, and a day missed while stopped is caught up at start.
const SnapshotEvery = time.Hour

// PeriodicSnapshot is the snapshot job's schedule for a River client.
func PeriodicSnapshot() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(SnapshotEvery),
		func() (river.JobArgs, *river.InsertOpts) { return SnapshotArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
