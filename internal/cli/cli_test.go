package cli

import (
	"math"
	"runtime/debug"
	"testing"
)

// cspm import gets a collector with more headroom and a heap limit, unless
// the operator set GOGC or GOMEMLIMIT.
func TestTuneCollectorForBatch(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
	tuneCollectorForBatch(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != batchGCPercent {
		t.Errorf("GOGC %d, want %d", got, batchGCPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != batchHeapLimit {
		t.Errorf("memory limit %d, want %d", got, batchHeapLimit)
	}
	tuneCollectorForBatch(func(string) (string, bool) { return "50", true })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d with GOGC set, want it left at 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d with GOMEMLIMIT set, want it left alone", got)
	}
}
