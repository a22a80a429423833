// Package listcache keeps the expensive parts of list answers (totals,
// facet counts: a pass over every match) under a per-team data version
// stored beside the data. Every write that changes what a team's lists
// count bumps the version in its own transaction, so a cached answer is
// never one a committed write has changed, across any number of
// processes; identical computations in flight run once.
//
// Each database that uses it has a versions table:
//
//	CREATE TABLE <name> (scope TEXT PRIMARY KEY, version BIGINT NOT NULL);
package listcache

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/offloadsecurity/cspm/internal/db"
)

// AllTeams is the scope of a change that touches every team.
const AllTeams = "*"

// Versions names a versions table.
type Versions string

// Bump records, in the writer's transaction, that scope (a team ID or
// AllTeams) changed.
func (v Versions) Bump(ctx context.Context, q db.Querier, scope string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO `+string(v)+` (scope, version) VALUES ($1, 1)
		ON CONFLICT (scope) DO UPDATE SET version = `+string(v)+`.version + 1`, scope)
	return err
}

// Of returns the team's version: it grows with every change to the team's
// data or to every team's.
func (v Versions) Of(ctx context.Context, q db.Querier, teamID string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(version), 0) FROM `+string(v)+` WHERE scope IN ($1, $2)`, teamID, AllTeams).Scan(&n)
	return n, err
}

// Key identifies one computation at one version.
func Key(teamID string, version int64, query string, args []any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%d\x00%s", teamID, version, query)
	for _, a := range args {
		fmt.Fprintf(&b, "\x00%v", a)
	}
	return b.String()
}

// Cache holds computed values by Key. Entries of older versions are never
// asked for again and go when the cache is full.
type Cache[T any] struct {
	mu      sync.Mutex
	entries map[string]T
	flight  singleflight.Group
}

const size = 4096

// Get returns the value for key, computing it with fn (once for all
// concurrent callers) when it is not cached.
func (c *Cache[T]) Get(key string, fn func() (T, error)) (T, error) {
	c.mu.Lock()
	v, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	r, err, _ := c.flight.Do(key, func() (any, error) {
		v, err := fn()
		if err != nil {
			return v, err
		}
		c.mu.Lock()
		if c.entries == nil || len(c.entries) >= size {
			c.entries = make(map[string]T)
		}
		c.entries[key] = v
		c.mu.Unlock()
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return r.(T), nil
}

// Peek returns the value for key if it is cached, without computing it.
func (c *Cache[T]) Peek(key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[key]
	return v, ok
}
