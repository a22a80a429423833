package orchestration

import "time"

// SetClock replaces the service's clock in tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }
