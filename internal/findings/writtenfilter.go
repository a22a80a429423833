package findings

import "hash/maphash"

// writtenFilter is a Bloom filter of the fingerprints an import has met
// so far, for an import that took a snapshot of the team's findings (see
// importRun.snapshot; an empty one for a team with none): a fingerprint
// the filter has not seen is stored as the snapshot says, so it needs no
// lookup. A team's first import then asks the database about its repeats
// (and a fraction of a percent of false positives) instead of about every
// finding: 200 lookups for 100,000 findings, a tenth of the PostgreSQL
// server's work on such an import (docs/PERFORMANCE.md).
type writtenFilter struct {
	bits []uint64
	seed maphash.Seed
}

// writtenFilterBits is the filter's size: 2 MiB, under 0.3% false
// positives up to a million findings and about 2% at two million, with
// writtenFilterHashes bits a fingerprint. Past that the filter lets more
// lookups through; it never skips one that is needed.
const (
	writtenFilterBits   = 1 << 24
	writtenFilterHashes = 4
)

func newWrittenFilter() *writtenFilter {
	return &writtenFilter{bits: make([]uint64, writtenFilterBits/64), seed: maphash.MakeSeed()}
}

// positions calls fn with each of the fingerprint's bit positions: double
// hashing of one 64-bit hash.
func (w *writtenFilter) positions(fp string, fn func(bit uint64) bool) bool {
	h := maphash.String(w.seed, fp)
	h1, h2 := h&0xffffffff, h>>32|1
	for i := range uint64(writtenFilterHashes) {
		if !fn((h1 + i*h2) & (writtenFilterBits - 1)) {
			return false
		}
	}
	return true
}

func (w *writtenFilter) add(fp string) {
	w.positions(fp, func(bit uint64) bool {
		w.bits[bit/64] |= 1 << (bit % 64)
		return true
	})
}

func (w *writtenFilter) mayContain(fp string) bool {
	return w.positions(fp, func(bit uint64) bool { return w.bits[bit/64]&(1<<(bit%64)) != 0 })
}
