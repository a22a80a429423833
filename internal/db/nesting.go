package db

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// The rule for transactions across logical databases: no code holds one
// logical database's write transaction while it opens another's (or a
// second one of the same). On SQLite each logical database has a single
// writer, so two goroutines doing so in opposite orders wait for each other
// forever; on PostgreSQL it holds row locks and a pooled connection across
// an unrelated commit. Work that spans two databases commits the first and
// then writes the second, idempotently (see docs/architecture.md).
//
// CheckNesting turns on a check of that rule: a write transaction opened
// by InTeam, InTeamConn or AsSystem while the same goroutine holds one
// panics, naming both databases. Tests turn it on (dbtest does); it costs a
// stack read per transaction, so production leaves it off.
func CheckNesting(on bool) { nestingCheck.Store(on) }

var (
	nestingCheck atomic.Bool
	// held maps a goroutine to the logical database whose write
	// transaction it holds.
	held sync.Map
)

// enterWrite records that the calling goroutine opens a write transaction
// on d, and returns the function that records its end.
func (d *DB) enterWrite() (leave func()) {
	if !nestingCheck.Load() {
		return func() {}
	}
	g := goroutineID()
	if other, ok := held.Load(g); ok {
		panic(fmt.Sprintf("db: a write transaction on %s opened while this goroutine holds one on %s: "+
			"commit the first before writing the second (docs/architecture.md)", d.Name, other))
	}
	held.Store(g, d.Name)
	return func() { held.Delete(g) }
}

// goroutineID reads the calling goroutine's number from its stack header,
// "goroutine 123 [running]:". Only the nesting check uses it.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}
