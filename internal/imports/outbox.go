package imports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offloadsecurity/cspm/internal/findings"
)

// OutboxGrace is how long an import's outbox row waits for the import's
// own job to drain it before DrainOutbox takes it over: a live job does so
// a moment after its commit. Doing it twice is harmless (notifications are
// keyed by the import, a sync finds nothing left to do), so this only
// spares the work.
const OutboxGrace = 2 * time.Minute

// afterCommit does what follows a committed import: a compliance sync of
// the checks it touched (all of them when checks is nil), its
// notifications and ticket sync; then drains its outbox row. On an error
// the row stays, for DrainOutbox.
func (s *Service) afterCommit(ctx context.Context, a ImportReportArgs, res findings.ImportResult, checks []string) error {
	var errs []error
	if s.AfterImport != nil {
		if err := s.AfterImport(ctx, a.TeamID, checks); err != nil {
			errs = append(errs, fmt.Errorf("queue the compliance sync: %w", err))
		}
	}
	if s.Imported != nil {
		if err := s.Imported(ctx, a, res); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return s.Findings.ImportOutboxDone(ctx, a.TeamID, a.ScanID)
}

// DrainOutbox does the after-commit work of the imports whose process died
// between their commit and that work (periodic job import_outbox); it
// answers how many it finished. What the vulnerability store recorded
// after such an import is not known to it, so no KEV notification is sent
// for it: the vulnerability store itself catches up at the scope's next
// import, which notifies then.
// Rows younger than olderThan (OutboxGrace in the job) are left to their
// import's own job.
func (s *Service) DrainOutbox(ctx context.Context, olderThan time.Duration) (int, error) {
	pending, err := s.Findings.ImportOutboxPending(ctx, olderThan, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range pending {
		a := ImportReportArgs{TeamID: e.TeamID, ScanID: e.ScanID, Filename: e.Filename, CreatedBy: e.CreatedBy, Covers: e.Covers}
		if err := s.afterCommit(ctx, a, e.Result, nil); err != nil {
			errs = append(errs, fmt.Errorf("import %s: %w", e.ScanID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
