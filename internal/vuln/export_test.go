package vuln

import "time"

// SetClock lets tests look at the store from another day.
func SetClock(s *Service, now func() time.Time) { s.now = now }

// SetWindowFor makes list pages of s read n scores at first, so that tests
// on small stores walk through growing windows.
func SetWindowFor(t interface{ Helper() }, s *Service, n int) {
	t.Helper()
	s.firstWindow = n
}
