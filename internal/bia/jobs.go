package bia

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// ArchiveOverdueArgs is the bia_archive_overdue job: archive, in every
// team, the analyses whose review is overdue by more than the grace
// (bia_review_grace).
type ArchiveOverdueArgs struct{}

// Kind names the job.
func (ArchiveOverdueArgs) Kind() string { return "bia_archive_overdue" }

// ArchiveOverdueEvery is how often the job is scheduled.
const ArchiveOverdueEvery = time.Hour

// ArchiveOverdueWorker runs ArchiveOverdueArgs.
type ArchiveOverdueWorker struct {
	river.WorkerDefaults[ArchiveOverdueArgs]
	// Service is called through a function: the worker is registered
	// before the service is built.
	Service func() *Service
	Teams   func(ctx context.Context) ([]string, error)
	Grace   time.Duration
}

// Work archives what is overdue beyond the grace; a failure in one team
// does not stop the others, and fails the job for a retry.
func (w *ArchiveOverdueWorker) Work(ctx context.Context, _ *river.Job[ArchiveOverdueArgs]) error {
	teams, err := w.Teams(ctx)
	if err != nil {
		return err
	}
	s := w.Service()
	n, err := s.ArchiveOverdue(ctx, teams, w.Grace)
	if n > 0 {
		s.logger.Info("BIAs overdue for review archived", "count", n, "grace", w.Grace)
	}
	return err
}

// Timeout bounds one run.
func (w *ArchiveOverdueWorker) Timeout(*river.Job[ArchiveOverdueArgs]) time.Duration {
	return 10 * time.Minute
}

// RefreshExposureArgs computes a team's analytics exposure in the
// background after its findings, vulnerabilities or analyses changed
// (exposure_store.go).
type RefreshExposureArgs struct {
	TeamID string `json:"team_id"`
}

// Kind names the job.
func (RefreshExposureArgs) Kind() string { return "bia_refresh_exposure" }

// RefreshExposureWorker runs RefreshExposureArgs.
type RefreshExposureWorker struct {
	river.WorkerDefaults[RefreshExposureArgs]
	Service func() *Service
}

// Work refreshes the team's exposure unless it is current.
func (w *RefreshExposureWorker) Work(ctx context.Context, job *river.Job[RefreshExposureArgs]) error {
	s := w.Service()
	started := time.Now()
	computed, err := s.RefreshExposure(ctx, job.Args.TeamID)
	if computed {
		s.logger.Info("BIA exposure refreshed", "team_id", job.Args.TeamID, "took", time.Since(started).Round(time.Millisecond))
	}
	return err
}

// Timeout bounds one run: a pass over a million findings takes seconds.
func (w *RefreshExposureWorker) Timeout(*river.Job[RefreshExposureArgs]) time.Duration {
	return 10 * time.Minute
}
