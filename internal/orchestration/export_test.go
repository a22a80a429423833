package orchestration

import (
	"context"
	"time"
)

// SetClock replaces the service's clock in tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// MarkRunning is markRunning, for a test of a SubJob whose run was
// cancelled after its job read it.
func (s *Service) MarkRunning(ctx context.Context, sj SubJob, attempt int) (bool, error) {
	return s.markRunning(ctx, sj, attempt)
}
