package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// elementsPerChunk is how many elements travel together between the
// reader, the decoders and the emitter: enough to make the hand-offs cheap,
// few enough to keep a few chunks in flight in little memory (about
// 300 KB of Prowler OCSF).
const elementsPerChunk = 64

// errStopped ends the reader when the emitter has stopped.
var errStopped = errors.New("stopped")

// decodeElements reads the elements of a top-level JSON array or of JSON
// lines, decodes them on several goroutines when that helps and hands the
// findings to emit in report order. Finding an element's boundaries and
// decoding it are about half of parsing each, so on two cores a re-import,
// which the parse bounds, shares the work. decode gets its own copy of each element. An
// error names the offset just after the element it is about, as the
// one-goroutine parsers do; what the reader finds wrong in the document
// comes after every element before it was emitted.
func decodeElements(r io.Reader, format string, decode func(raw json.RawMessage) (*Finding, error), emit Emit) error {
	workers := min(runtime.GOMAXPROCS(0), 4)
	fail := func(err error, end int64) error {
		var pe *ParseError
		if errors.As(err, &pe) {
			return err
		}
		return &ParseError{Format: format, Where: fmt.Sprintf("offset %d", end), Err: err}
	}
	if workers < 2 {
		return arrayOrLinesAt(r, format, func(raw json.RawMessage, end int64) error {
			f, err := decode(append(json.RawMessage(nil), raw...))
			if err != nil {
				return fail(err, end)
			}
			return emit(f)
		})
	}

	type chunk struct {
		seq   int
		raws  []json.RawMessage
		ends  []int64
		found []*Finding
		err   error // the first element that did not decode, wrapped with its offset
	}
	done := make(chan struct{})
	jobs := make(chan *chunk, workers)
	results := make(chan *chunk, workers*2)

	// The reader decodes what it reads itself while emit is the slower side
	// (the database is, in a first import: another goroutine decoding would
	// only take a core from it), and hands chunks to the decoders while the
	// emitter waits for them (the parse is what the consumer waits on, in a
	// re-import).
	var parallel atomic.Bool
	process := func(c *chunk) bool {
		c.found = make([]*Finding, 0, len(c.raws))
		for i, raw := range c.raws {
			f, err := decode(raw)
			if err != nil {
				c.err = fail(err, c.ends[i])
				break
			}
			c.found = append(c.found, f)
		}
		select {
		case results <- c:
			return true
		case <-done:
			return false
		}
	}

	var readErr error
	go func() {
		defer close(jobs)
		c := &chunk{}
		send := func() bool {
			if !parallel.Load() {
				return process(c)
			}
			select {
			case jobs <- c:
				return true
			case <-done:
				return false
			}
		}
		readErr = arrayOrLinesAt(r, format, func(raw json.RawMessage, end int64) error {
			c.raws = append(c.raws, append(json.RawMessage(nil), raw...)) // the decoder reuses its buffer
			c.ends = append(c.ends, end)
			if len(c.raws) < elementsPerChunk {
				return nil
			}
			if !send() {
				return errStopped
			}
			c = &chunk{seq: c.seq + 1}
			return nil
		})
		if readErr == nil && len(c.raws) > 0 {
			send()
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				if !process(c) {
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var (
		err              error
		waited, emitting time.Duration // moving averages, per chunk
	)
	pending := map[int]*chunk{}
	next := 0
	mark := time.Now()
	for c := range results {
		if err != nil {
			continue // draining after a stop
		}
		waited = (waited*3 + time.Since(mark)) / 4
		mark = time.Now()
		pending[c.seq] = c
		for p, ok := pending[next]; ok && err == nil; p, ok = pending[next] {
			delete(pending, next)
			next++
			for i, f := range p.found {
				if e := emit(f); e != nil {
					err = fail(e, p.ends[i])
					break
				}
			}
			if err == nil {
				err = p.err
			}
		}
		emitting = (emitting*3 + time.Since(mark)) / 4
		parallel.Store(waited > 2*emitting)
		mark = time.Now()
		if err != nil {
			close(done)
		}
	}
	if err != nil {
		return err
	}
	return readErr
}
