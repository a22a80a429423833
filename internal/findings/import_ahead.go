package findings

// How many parsed batches may wait for the writer: a couple, and more
// while a PostgreSQL import reads the team's snapshot before it writes
// (0.2-0.3 s for 100,000 findings: the parser stopped after two batches
// meanwhile, and a re-import took that much longer than the parse).
const (
	parsedAheadSteady = 2
	parsedAheadWide   = 32
)

// parseAhead is the room the parser has for batches the writer has not
// taken: steady, widened to wide once, narrowing back as the writer takes
// the next batches (it keeps their room instead of giving it back).
type parseAhead struct {
	room    chan struct{}
	steady  int
	keep    int // room the writer has yet to keep
	widened bool
}

func newParseAhead(steady, wide int) *parseAhead {
	a := &parseAhead{room: make(chan struct{}, wide), steady: steady}
	for range steady {
		a.room <- struct{}{}
	}
	return a
}

// widen gives the parser room up to wide, the first time; the writer's
// goroutine calls it, before it takes batches.
func (a *parseAhead) widen() {
	if a == nil || a.widened {
		return
	}
	a.widened = true
	for range cap(a.room) - a.steady {
		a.room <- struct{}{}
		a.keep++
	}
}

// taken is the writer's: it took a batch.
func (a *parseAhead) taken() {
	if a.keep > 0 {
		a.keep--
		return
	}
	a.room <- struct{}{}
}
