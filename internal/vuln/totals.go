package vuln

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/offloadsecurity/cspm/internal/db"
)

// allTeams is the version scope of changes that touch every team.
const allTeams = "*"

// bumpVersion records that the occurrences of scope (a team ID, or
// allTeams) or their scores changed, in the writer's transaction.
func bumpVersion(ctx context.Context, q db.Querier, scope string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO vuln_data_versions (scope, version) VALUES ($1, 1)
		ON CONFLICT (scope) DO UPDATE SET version = vuln_data_versions.version + 1`, scope)
	return err
}

// dataVersion is the team's version: it grows with every change to what
// the team's lists count.
func dataVersion(ctx context.Context, q db.Querier, teamID string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(version), 0) FROM vuln_data_versions WHERE scope IN ($1, $2)`, teamID, allTeams).Scan(&v)
	return v, err
}

// totalCache keeps list totals, which cost a pass over every matching
// occurrence, under the team's data version, so that paging and repeated
// views of a large store count once per change. Entries of older versions
// are never read again and go when the cache is full.
type totalCache struct {
	mu      sync.Mutex
	entries map[string]int
}

const totalCacheSize = 4096

func totalKey(teamID string, version int64, query string, args []any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%d\x00%s", teamID, version, query)
	for _, a := range args {
		fmt.Fprintf(&b, "\x00%v", a)
	}
	return b.String()
}

func (c *totalCache) get(key string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.entries[key]
	return n, ok
}

func (c *totalCache) put(key string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= totalCacheSize {
		c.entries = make(map[string]int)
	}
	c.entries[key] = n
}
