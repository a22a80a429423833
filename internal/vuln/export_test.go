package vuln

import "time"

// SetClock lets tests look at the store from another day.
func SetClock(s *Service, now func() time.Time) { s.now = now }
