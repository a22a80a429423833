package bia

import (
	"context"
	"sync"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// Analytics compute the exposure once and keep it; after the findings
// change they answer at once with the last exposure, marked stale, and ask
// for one refresh (not one per request); the refresh stores the current
// one, which every later request serves.
func TestExposureIsServedStaleWhileARefreshRuns(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		b := setup(t, reg)
		src := fixedDataSet()
		var mu sync.Mutex
		var asked []string
		b.s = New(reg, Options{Users: b.users, Audit: b.audit, Now: b.clock.now, Findings: src, KEV: src,
			RefreshExposure: func(_ context.Context, team string) { mu.Lock(); asked = append(asked, team); mu.Unlock() }})
		r := complete("Checkout", 1)
		r.Dependencies = []Dependency{{Kind: DepCloudAccount, Value: acct}}
		p, err := b.s.ProcessCreate(ctx, teamA, r, author)
		if err != nil {
			t.Fatal(err)
		}
		openOf := func(a Analytics) int {
			for _, e := range a.Exposure {
				if e.ProcessID == p.ID {
					return e.OpenFindings
				}
			}
			t.Fatalf("no exposure for the process: %+v", a.Exposure)
			return 0
		}
		// Never computed: computed in the request, and stored.
		a, err := b.s.AnalyticsGet(ctx, teamA)
		if err != nil || a.ExposureStale || openOf(a) != 2 || a.ExposureComputedAt.IsZero() {
			t.Fatalf("first: stale %v open %d at %v, %v", a.ExposureStale, openOf(a), a.ExposureComputedAt, err)
		}
		// A new open failing finding on the account, and a new version.
		src.findings[teamA] = append(src.findings[teamA], FindingRow{AccountUID: acct, ResourceUID: "arn:new", Severity: sevHigh})
		src.version++
		for range 3 {
			a, err = b.s.AnalyticsGet(ctx, teamA)
			if err != nil || !a.ExposureStale || openOf(a) != 2 {
				t.Fatalf("after the change: stale %v open %d, %v", a.ExposureStale, openOf(a), err)
			}
		}
		if len(asked) != 1 || asked[0] != teamA {
			t.Fatalf("refreshes asked %v, want one for team A", asked)
		}
		if computed, err := b.s.RefreshExposure(ctx, teamA); err != nil || !computed {
			t.Fatalf("refresh computed %v, %v", computed, err)
		}
		if computed, err := b.s.RefreshExposure(ctx, teamA); err != nil || computed {
			t.Fatalf("a second refresh of the same state computed %v, %v", computed, err)
		}
		// A second service (another API process) serves the stored one.
		other := New(reg, Options{Users: b.users, Now: b.clock.now, Findings: src, KEV: src,
			RefreshExposure: func(context.Context, string) { t.Error("the current exposure asked for a refresh") }})
		for _, s := range []*Service{b.s, other} {
			a, err = s.AnalyticsGet(ctx, teamA)
			if err != nil || a.ExposureStale || openOf(a) != 3 {
				t.Fatalf("after the refresh: stale %v open %d, %v", a.ExposureStale, openOf(a), err)
			}
		}
	})
}
