package findings

import "testing"

// The parser may queue early batches before the writer starts, and once
// the writer has taken that many, no more than steady.
func TestParseAheadNarrows(t *testing.T) {
	a := newParseAhead(8, 2)
	queued := 0
	fill := func() { // the parser: queue batches while there is room
		for {
			select {
			case <-a.room:
				queued++
			default:
				return
			}
		}
	}
	fill()
	if queued != 8 {
		t.Fatalf("before the writer starts the parser queued %d, want 8", queued)
	}
	for range 20 { // the writer takes one, the parser queues what it may
		queued--
		a.taken()
		fill()
	}
	if queued != 2 {
		t.Fatalf("once the writer is going %d batches wait, want 2", queued)
	}
}
