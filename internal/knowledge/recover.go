package knowledge

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/db"
)

// StallAfter is how long a document may stay queued or processing before
// the recovery job queues its processing again. Longer than the
// processing job's timeout (10 minutes), so that a job still running is
// not doubled; a doubled one would do no harm anyway (ProcessDocument
// swaps a version's chunks in whole, and does nothing for a stale version).
const StallAfter = 15 * time.Minute

// RecoverEvery is how often the recovery job runs.
const RecoverEvery = 5 * time.Minute

// RecoverArgs is the periodic River job that finds documents a crash left
// queued or processing: the upload commits before its job is queued, so a
// process that dies in between leaves a document no job will ever take.
type RecoverArgs struct{}

// Kind implements river.JobArgs.
func (RecoverArgs) Kind() string { return "kb_recover_documents" }

// RecoverWorker works RecoverArgs.
type RecoverWorker struct {
	river.WorkerDefaults[RecoverArgs]
	Service func() *Service
}

// Work queues the stalled documents again.
func (w *RecoverWorker) Work(ctx context.Context, _ *river.Job[RecoverArgs]) error {
	_, err := w.Service().RecoverStalled(ctx)
	return err
}

// RecoverStalled queues processing again for every team's documents that
// have been queued or processing for longer than StallAfter, and returns
// how many. A job for the same version still waiting in the queue is not
// doubled (unique by arguments among unfinished jobs).
func (s *Service) RecoverStalled(ctx context.Context) (int, error) {
	if s.queue == nil {
		return 0, nil
	}
	type stalled struct {
		team, id string
		version  int
	}
	var list []stalled
	// Every team's documents: the one system-scoped read of this package,
	// for a job that serves no team in particular.
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT team_id, id, version FROM kb_documents
			WHERE status IN ($1, $2) AND updated_at < $3 ORDER BY updated_at LIMIT 1000`,
			StatusQueued, StatusProcessing, s.now().UTC().Add(-StallAfter))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d stalled
			if err := rows.Scan(&d.team, &d.id, &d.version); err != nil {
				return err
			}
			list = append(list, d)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	opts := ProcessDocumentArgs{}.InsertOpts()
	opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
		rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}
	for _, d := range list {
		if _, err := s.queue.Insert(ctx, ProcessDocumentArgs{TeamID: d.team, DocumentID: d.id, Version: d.version}, &opts); err != nil {
			return 0, err
		}
		s.logger.Info("knowledge base: a stalled document queued again", "team_id", d.team, "document_id", d.id, "version", d.version)
	}
	return len(list), nil
}
