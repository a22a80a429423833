package findings

import "testing"

// The parser may queue steady batches; once widened, wide, until the
// writer has taken that many more; then steady again.
func TestParseAheadWidensOnceAndNarrows(t *testing.T) {
	a := newParseAhead(2, 8)
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
	take := func(n int) { // the writer takes n, the parser queues what it may
		for range n {
			queued--
			a.taken()
			fill()
		}
	}
	fill()
	if queued != 2 {
		t.Fatalf("the parser queued %d, want 2", queued)
	}
	take(5)
	if queued != 2 {
		t.Fatalf("the parser queued %d, want 2", queued)
	}
	a.widen()
	fill()
	if queued != 8 {
		t.Fatalf("widened, the parser queued %d, want 8", queued)
	}
	a.widen() // once only
	take(20)
	if queued != 2 {
		t.Fatalf("once the writer is going again %d batches wait, want 2", queued)
	}
	var none *parseAhead
	none.widen() // an import run without a parser
}
