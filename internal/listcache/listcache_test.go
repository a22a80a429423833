package listcache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/listcache"
)

// A team's version grows with its own writes and with every-team writes,
// not with another team's, on both engines.
func TestVersions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		d := reg.Get(db.NativeScans)
		const v = listcache.Versions("findings_data_versions")
		of := func(team string) int64 {
			t.Helper()
			var n int64
			if err := d.AsSystem(ctx, func(q db.Querier) (err error) { n, err = v.Of(ctx, q, team); return err }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		bump := func(scope string) {
			t.Helper()
			if err := d.AsSystem(ctx, func(q db.Querier) error { return v.Bump(ctx, q, scope) }); err != nil {
				t.Fatal(err)
			}
		}
		a0, b0 := of("a"), of("b")
		bump("a")
		if of("a") <= a0 || of("b") != b0 {
			t.Fatalf("after a's write: a %d -> %d, b %d -> %d", a0, of("a"), b0, of("b"))
		}
		a1 := of("a")
		bump(listcache.AllTeams)
		if of("a") <= a1 || of("b") <= b0 {
			t.Fatal("an every-team write did not move both teams")
		}
	})
}

// Concurrent callers of one key compute once; a new version computes
// again; a failure is not cached.
func TestCacheComputesOncePerKey(t *testing.T) {
	t.Parallel()
	var c listcache.Cache[int]
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	key := listcache.Key("team", 1, "SELECT count(*)", []any{"x"})
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := c.Get(key, func() (int, error) { calls.Add(1); <-release; return 42, nil })
			if err != nil || n != 42 {
				t.Errorf("got %d, %v", n, err)
			}
		}()
	}
	for calls.Load() == 0 {
		// wait for the first computation to start
	}
	close(release)
	wg.Wait()
	if n, _ := c.Get(key, func() (int, error) { calls.Add(1); return 0, nil }); n != 42 || calls.Load() != 1 {
		t.Fatalf("cached %d after %d computations", n, calls.Load())
	}
	next := listcache.Key("team", 2, "SELECT count(*)", []any{"x"})
	if n, _ := c.Get(next, func() (int, error) { return 43, nil }); n != 43 {
		t.Fatalf("a new version served %d", n)
	}
	boom := errors.New("boom")
	if _, err := c.Get("k", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if n, err := c.Get("k", func() (int, error) { return 7, nil }); err != nil || n != 7 {
		t.Fatalf("a failure was cached: %d, %v", n, err)
	}
}
