package findings

import "testing"

// The business impact order: tightest tier first, the most severe first
// within a tier; "other" (99) and out-of-range severities rank as unknown,
// never ahead of a tier's criticals.
func TestImpactRank(t *testing.T) {
	order := [][2]int{{1, 6}, {1, 5}, {1, 1}, {1, 99}, {2, 5}, {5, 0}, {0, 6}, {0, 99}}
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if impactRank(a[0], a[1]) >= impactRank(b[0], b[1]) {
			t.Errorf("tier %d severity %d (%d) should rank before tier %d severity %d (%d)", a[0], a[1], impactRank(a[0], a[1]),
				b[0], b[1], impactRank(b[0], b[1]))
		}
	}
}
