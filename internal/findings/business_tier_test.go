package findings_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/tiers"
)

// staticTiers is a tiers.Source whose map the test changes, standing in
// for the BIA service (internal/bia has its own tests of the map).
type staticTiers struct {
	mu sync.Mutex
	m  *tiers.Map
	// next, when set, replaces m after the first read: the analyses change
	// while an import writes.
	next *tiers.Map
}

func (s *staticTiers) BusinessTiers(context.Context, string) (*tiers.Map, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	if s.next != nil {
		s.m, s.next = s.next, nil
	}
	return m, nil
}

func tierMap(rev string, accounts, assets, tags map[string]int) *tiers.Map {
	m := &tiers.Map{Revision: rev, Accounts: map[string]int{}, Assets: map[string]int{}, Tags: map[string]int{}}
	for k, v := range accounts {
		tiers.Set(m.Accounts, k, v)
	}
	for k, v := range assets {
		tiers.Set(m.Assets, k, v)
	}
	for k, v := range tags {
		tiers.Set(m.Tags, k, v)
	}
	return m
}

func tiersByResource(t *testing.T, st *findings.Store, p findings.ListParams) (map[string]int, []string) {
	t.Helper()
	p.TeamID, p.Limit = "t1", 100
	list, err := st.FindingList(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	var order []string
	for _, f := range list.Findings {
		out[f.ResourceUID] = f.BusinessTier
		order = append(order, f.ResourceUID)
	}
	return out, order
}

// A finding carries the tightest tier of the analyses naming its resource,
// its tags or its account: set as the import writes, filtered and sorted in
// the database, rewritten by a sync when the analyses change.
func TestBusinessTierOnImportFilterSortAndSync(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		src := &staticTiers{m: tierMap("r1", nil, map[string]int{"arn:db": 2}, map[string]int{"app=payments": 1})}
		st := findings.NewStore(reg)
		st.Tiers = src
		doc := prowlerWithTags(map[string][][2]string{
			"arn:db":      {{"app", "ledger"}},
			"arn:pay":     {{"App", "Payments"}},
			"arn:sandbox": {{"env", "dev"}},
		})
		if _, err := st.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		got, _ := tiersByResource(t, st, findings.ListParams{})
		if got["arn:db"] != 2 || got["arn:pay"] != 1 || got["arn:sandbox"] != 0 {
			t.Fatalf("tiers after import: %v", got)
		}
		got, _ = tiersByResource(t, st, findings.ListParams{BusinessTier: []int{1, 2}})
		if len(got) != 2 || got["arn:sandbox"] != 0 {
			t.Fatalf("filter 1,2: %v", got)
		}
		got, _ = tiersByResource(t, st, findings.ListParams{BusinessTier: []int{2}})
		if len(got) != 1 || got["arn:db"] != 2 {
			t.Fatalf("filter 2: %v", got)
		}
		if _, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", BusinessTier: []int{7}}); err == nil {
			t.Fatal("tier 7 accepted")
		}
		_, order := tiersByResource(t, st, findings.ListParams{Sort: "business_tier"})
		if strings.Join(order, ",") != "arn:pay,arn:db,arn:sandbox" {
			t.Fatalf("business impact order %v", order)
		}
		// Paged one at a time, the cursor keeps that order.
		var paged []string
		cursor := ""
		for range 4 {
			page, err := st.FindingList(ctx, findings.ListParams{TeamID: "t1", Sort: "business_tier", Limit: 1, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page.Findings {
				paged = append(paged, f.ResourceUID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(paged, ",") != "arn:pay,arn:db,arn:sandbox" {
			t.Fatalf("paged order %v", paged)
		}

		// The analyses change: the sandbox's account becomes tier 3 and the
		// payments selector goes away.
		next := tierMap("r2", map[string]int{"111122223333": 3}, map[string]int{"arn:db": 2}, nil)
		n, err := st.SyncBusinessTiers(ctx, "t1", next, false)
		if err != nil || n != 2 {
			t.Fatalf("sync changed %d (want 2: pay 1->3, sandbox 0->3), %v", n, err)
		}
		got, _ = tiersByResource(t, st, findings.ListParams{})
		if got["arn:db"] != 2 || got["arn:pay"] != 3 || got["arn:sandbox"] != 3 {
			t.Fatalf("tiers after sync: %v", got)
		}
		// The same revision again is a no-op, unless forced.
		if n, err := st.SyncBusinessTiers(ctx, "t1", tierMap("r2", nil, nil, nil), false); err != nil || n != 0 {
			t.Fatalf("same revision synced %d, %v", n, err)
		}
		if n, err := st.SyncBusinessTiers(ctx, "t1", tierMap("r2", nil, nil, nil), true); err != nil || n != 3 {
			t.Fatalf("forced sync changed %d (want 3), %v", n, err)
		}
	})
}

// An import that wrote with a map the analyses replaced meanwhile asks for
// a sync: the one the change queued may have run before it committed.
func TestImportWithStaleTiersQueuesASync(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		src := &staticTiers{m: tierMap("r1", nil, map[string]int{"arn:a": 1}, nil),
			next: tierMap("r2", nil, map[string]int{"arn:a": 4}, nil)}
		var stale []string
		st := findings.NewStore(reg)
		st.Tiers, st.TiersStale = src, func(_ context.Context, team string) { stale = append(stale, team) }
		if _, err := st.Import(ctx, strings.NewReader(prowlerWithTags(map[string][][2]string{"arn:a": nil})), findings.ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		if len(stale) != 1 || stale[0] != "t1" {
			t.Fatalf("stale callbacks %v, want one for t1", stale)
		}
		// Unchanged analyses: no callback.
		if _, err := st.Import(ctx, strings.NewReader(prowlerWithTags(map[string][][2]string{"arn:b": nil})), findings.ImportParams{TeamID: "t1"}); err != nil {
			t.Fatal(err)
		}
		if len(stale) != 1 {
			t.Fatalf("stale callbacks %v after an import with current tiers", stale)
		}
	})
}
