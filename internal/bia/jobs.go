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
