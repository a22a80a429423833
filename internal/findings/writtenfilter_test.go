package findings

import (
	"fmt"
	"slices"
	"testing"
)

// The filter never forgets a fingerprint it was given (a missed lookup
// would insert a finding twice), and lets few others through.
func TestWrittenFilter(t *testing.T) {
	w := newWrittenFilter()
	fp := func(i int) string { return fmt.Sprintf("%040x", i*2654435761) }
	// What lookupKeys asks of it for each batch: which fingerprints it
	// may have met, then to remember them all.
	candidates := func(batch []string) []string {
		var met []string
		for _, f := range batch {
			if w.mayContain(f) {
				met = append(met, f)
			}
		}
		for _, f := range batch {
			w.add(f)
		}
		return met
	}
	var batch []string
	for i := range 1000 {
		batch = append(batch, fp(i))
	}
	if got := candidates(batch); len(got) != 0 {
		t.Fatalf("an empty filter lets %d fingerprints through", len(got))
	}
	// The next batch repeats three of the first.
	next := []string{fp(1000), fp(7), fp(1001), fp(999), fp(0)}
	if got := candidates(next); !slices.Equal(got, []string{fp(7), fp(999), fp(0)}) {
		t.Fatalf("candidates = %v, want the three repeats", got)
	}
	for i := 2000; i < 1_000_000; i++ {
		w.add(fp(i))
	}
	for i := range 1000 {
		if !w.mayContain(fp(i)) {
			t.Fatalf("fingerprint %d forgotten", i)
		}
	}
	falsePositives := 0
	for i := 2_000_000; i < 2_100_000; i++ {
		if w.mayContain(fp(i)) {
			falsePositives++
		}
	}
	if rate := float64(falsePositives) / 100_000; rate > 0.005 {
		t.Fatalf("false positives at a million fingerprints: %.2f%%, want under 0.5%%", rate*100)
	}
}
