package team

import (
	"context"

	"github.com/offloadsecurity/cspm/internal/db"
)

// TeamIDs returns every team's ID, for jobs that work on each team in turn
// (the daily compliance snapshot).
func (s *Store) TeamIDs(ctx context.Context) ([]string, error) {
	return db.QueryStrings(ctx, s.d.Reader(), "SELECT id FROM teams ORDER BY id")
}
