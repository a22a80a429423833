package db_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// A write transaction opened while the same goroutine holds another, on
// another logical database or the same, panics under the check that tests
// run with, naming both; after a commit, and on another goroutine, writing
// the second database is fine.
func TestNestedWriteTransactionsPanic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		scans, orch := reg.Get(db.NativeScans), reg.Get(db.Orchestration)
		nested := func(outer, inner *db.DB) (msg string) {
			defer func() {
				if r := recover(); r != nil {
					msg, _ = r.(string)
				}
			}()
			_ = outer.InTeam(ctx, "t1", func(db.Querier) error {
				return inner.InTeam(ctx, "t1", func(db.Querier) error { return nil })
			})
			return ""
		}
		for _, c := range []struct{ outer, inner *db.DB }{{scans, orch}, {orch, scans}, {scans, scans}} {
			msg := nested(c.outer, c.inner)
			if !strings.Contains(msg, "write transaction on "+string(c.inner.Name)) || !strings.Contains(msg, "holds one on "+string(c.outer.Name)) {
				t.Errorf("%s inside %s: %q, want a panic naming both", c.inner.Name, c.outer.Name, msg)
			}
		}
		// The panicking transaction was left, and sequential or concurrent
		// use is allowed.
		if err := scans.InTeam(ctx, "t1", func(db.Querier) error { return nil }); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		err := scans.InTeam(ctx, "t1", func(db.Querier) error {
			wg.Go(func() {
				if err := orch.AsSystem(ctx, func(db.Querier) error { return nil }); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Reads never count: a read inside a write is how every import works.
		if err := scans.InTeam(ctx, "t1", func(db.Querier) error {
			return orch.ReadInTeam(ctx, "t1", func(db.Querier) error { return nil })
		}); err != nil {
			t.Fatal(err)
		}
	})
}
