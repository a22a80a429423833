package vuln_test

import (
	"context"
	"maps"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/tiers"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

type fixedTiers struct{ m *tiers.Map }

func (f fixedTiers) BusinessTiers(context.Context, string) (*tiers.Map, error) { return f.m, nil }

func assetTiers(rev string, assets map[string]int) *tiers.Map {
	m := &tiers.Map{Revision: rev, Accounts: map[string]int{}, Assets: map[string]int{}, Tags: map[string]int{}}
	for k, v := range assets {
		tiers.Set(m.Assets, k, v)
	}
	return m
}

func priorities(t *testing.T, vs *vuln.Service, team string) (map[string]string, map[string]int) {
	t.Helper()
	occ, err := vs.OccurrenceList(context.Background(), team, "open")
	if err != nil || len(occ) == 0 {
		t.Fatalf("%d occurrences, %v", len(occ), err)
	}
	pr, tier := map[string]string{}, map[string]int{}
	for _, o := range occ {
		pr[o.VulnID], tier[o.VulnID] = o.Priority, o.BusinessTier
	}
	return pr, tier
}

// raised is the priority one level more urgent.
func raised(p string) string {
	return map[string]string{"P1": "P1", "P2": "P1", "P3": "P2", "P4": "P3"}[p]
}

// An occurrence on an asset a tier 1 or 2 process depends on is one
// priority level more urgent than the same occurrence elsewhere; the tier
// is set as the scan records it, filtered and sorted by in the list, and
// rewritten (with the priority) by a sync when the analyses change.
func TestBusinessTierRaisesPriority(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		const image = "teamdojo:latest" // the Trivy sample's artifact
		plain, critical := id.New(), id.New()

		vs := vuln.New(reg)
		importSample(t, reg, vs, plain, "trivy/scheme_2_many_vulns.json")
		base, baseTier := priorities(t, vs, plain)

		tiered := vuln.New(reg)
		tiered.Tiers = fixedTiers{assetTiers("r1", map[string]int{image: 1})}
		importSample(t, reg, tiered, critical, "trivy/scheme_2_many_vulns.json")
		got, gotTier := priorities(t, tiered, critical)
		lifted := 0
		for v, p := range base {
			if baseTier[v] != 0 || gotTier[v] != 1 {
				t.Fatalf("%s: tier %d without analyses, %d under a tier-1 process", v, baseTier[v], gotTier[v])
			}
			if got[v] != raised(p) {
				t.Errorf("%s: %s on a sandbox, %s on a tier-1 asset, want %s", v, p, got[v], raised(p))
			}
			if p != "P1" {
				lifted++
			}
		}
		if lifted == 0 {
			t.Fatal("the sample has nothing below P1: the test cannot tell")
		}

		// Filter and sort by tier.
		l, err := tiered.List(ctx, vuln.ListParams{TeamID: critical, BusinessTier: []int{1}})
		if err != nil || l.Total != len(base) || l.Vulnerabilities[0].BusinessTier != 1 {
			t.Fatalf("tier 1 filter: %+v, %v", l, err)
		}
		if l, err := tiered.List(ctx, vuln.ListParams{TeamID: critical, BusinessTier: []int{2}}); err != nil || l.Total != 0 {
			t.Fatalf("tier 2 filter: total %d, %v", l.Total, err)
		}
		if _, err := tiered.List(ctx, vuln.ListParams{TeamID: critical, BusinessTier: []int{0}}); err == nil {
			t.Fatal("tier 0 accepted as a filter")
		}
		if _, err := tiered.List(ctx, vuln.ListParams{TeamID: critical, Sort: "cvss"}); err == nil {
			t.Fatal("an unknown sort accepted")
		}
		byAsset, err := tiered.List(ctx, vuln.ListParams{TeamID: critical, GroupBy: "asset", Sort: "business_tier"})
		if err != nil || len(byAsset.Assets) != 1 || byAsset.Assets[0].BusinessTier != 1 {
			t.Fatalf("assets by tier: %+v, %v", byAsset, err)
		}

		// The plain team's image becomes tier 2: a sync rewrites tier and priority.
		n, err := vs.SyncBusinessTiers(ctx, plain, assetTiers("r7", map[string]int{image: 2}), false)
		if err != nil || n != len(base) {
			t.Fatalf("sync changed %d of %d, %v", n, len(base), err)
		}
		after, afterTier := priorities(t, vs, plain)
		for v, p := range base {
			if afterTier[v] != 2 || after[v] != raised(p) {
				t.Errorf("%s after sync: tier %d priority %s, want 2 and %s", v, afterTier[v], after[v], raised(p))
			}
		}
		if n, err := vs.SyncBusinessTiers(ctx, plain, assetTiers("r7", nil), false); err != nil || n != 0 {
			t.Fatalf("the same revision again changed %d, %v", n, err)
		}
		// Tier 4 does not raise it.
		if _, err := vs.SyncBusinessTiers(ctx, plain, assetTiers("r8", map[string]int{image: 4}), false); err != nil {
			t.Fatal(err)
		}
		if back, _ := priorities(t, vs, plain); !maps.Equal(back, base) {
			t.Errorf("tier 4 changed the priorities: %v, want %v", back, base)
		}
	})
}

// changingTiers answers first then next: the analyses change while a scan
// records its occurrences.
type changingTiers struct {
	first, next *tiers.Map
	calls       int
}

func (c *changingTiers) BusinessTiers(context.Context, string) (*tiers.Map, error) {
	c.calls++
	if c.calls == 1 {
		return c.first, nil
	}
	return c.next, nil
}

type failingTiers struct{}

func (failingTiers) BusinessTiers(context.Context, string) (*tiers.Map, error) {
	return nil, context.DeadlineExceeded
}

// Occurrences recorded with a map the analyses replaced meanwhile, or with
// none because the analyses could not be read, ask for a forced sync; the
// unreadable map changes no stored tier.
func TestRecordingWithStaleOrUnreadableTiersAsksForASync(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		const image = "teamdojo:latest"
		team := id.New()
		var stale []string
		vs := vuln.New(reg)
		vs.Tiers = &changingTiers{first: assetTiers("r1", map[string]int{image: 1}), next: assetTiers("r2", nil)}
		vs.TiersStale = func(_ context.Context, tm string) { stale = append(stale, tm) }
		importSample(t, reg, vs, team, "trivy/scheme_2_many_vulns.json")
		if len(stale) != 1 || stale[0] != team {
			t.Fatalf("stale callbacks %v", stale)
		}
		_, tier := priorities(t, vs, team)
		vs.Tiers = failingTiers{}
		importSample(t, reg, vs, team, "trivy/scheme_2_many_vulns.json")
		if len(stale) != 2 {
			t.Fatalf("an unreadable map asked for no sync: %v", stale)
		}
		_, after := priorities(t, vs, team)
		if !maps.Equal(tier, after) {
			t.Fatalf("an unreadable map changed tiers: %v -> %v", tier, after)
		}
	})
}
