package findings

// How an import folds two items of one report that are one finding: the
// worse report of it wins, whatever their order; of two as bad, the later.

import (
	"hash/maphash"

	"github.com/offloadsecurity/cspm/internal/ingest"
	"github.com/offloadsecurity/cspm/internal/ocsf"
)

// foldSet remembers every finding an import read, by a 64-bit hash of its
// fingerprint (about 20 bytes each: 20 MB for a million findings), with
// the rank of its worst report so far.
type foldSet struct {
	seed maphash.Seed
	seen map[uint64]uint16
}

func newFoldSet() *foldSet { return &foldSet{seed: maphash.MakeSeed(), seen: map[uint64]uint16{}} }

// reportRank orders two reports of one finding: a failure over a manual
// result over a pass, then the higher severity.
func reportRank(f *ingest.Finding) uint16 {
	var result uint16
	switch f.Result {
	case ingest.ResultFail:
		result = 2
	case ingest.ResultManual:
		result = 1
	}
	sev := f.Severity
	if sev < 0 || sev > 255 {
		sev = ocsf.SeverityOther
	}
	return result<<8 | uint16(sev) //nolint:gosec // G115: sev is within 0-255 here
}

// rankResult and rankSeverity undo reportRank.
func rankResult(rank uint16) ingest.Result {
	switch rank >> 8 {
	case 2:
		return ingest.ResultFail
	case 1:
		return ingest.ResultManual
	}
	return ingest.ResultPass
}

func rankSeverity(rank uint16) ocsf.Severity { return ocsf.Severity(rank & 0xff) }

// keep tells whether an import should keep this report of a finding: the
// first report of it, or one at least as bad as every earlier one. It counts a
// duplicate in folded, and returns the rank of the earlier report a worse
// one replaces (replaced is false for the first report).
func (s *foldSet) keep(f *ingest.Finding, folded *int) (keep bool, earlier uint16, replaced bool) {
	k := maphash.String(s.seed, f.Fingerprint)
	rank := reportRank(f)
	prev, dup := s.seen[k]
	if !dup {
		s.seen[k] = rank
		return true, 0, false
	}
	*folded++
	if rank < prev {
		return false, 0, false
	}
	// As bad or worse: it replaces the earlier report (of two as bad, the
	// later one is the newer word, as before duplicates were ranked).
	s.seen[k] = rank
	return true, prev, true
}

// countReport counts a kept report in the scan's tallies, taking back the
// earlier report of the same finding it replaces.
func (r *importRun) countReport(f *ingest.Finding) bool {
	keep, earlier, replaced := r.folds.keep(f, &r.res.DuplicatesFolded)
	if !keep {
		return false
	}
	if replaced {
		uncount(r.rec.BySeverity, rankSeverity(earlier).Key())
		uncount(r.rec.ByResult, string(rankResult(earlier)))
	}
	r.rec.BySeverity[f.Severity.Key()]++
	r.rec.ByResult[string(f.Result)]++
	return true
}

func uncount(m map[string]int, key string) {
	if m[key]--; m[key] <= 0 {
		delete(m, key)
	}
}

// takeBackChange uncounts the change an earlier report of a finding made
// in this import (from before to written), which a worse report replaces.
func (r *importRun) takeBackChange(before, written string) {
	if written == StatusResolved && before != StatusResolved {
		r.res.FindingsResolved--
	} else {
		r.res.FindingsUpdated--
	}
}

// priorState is a stored finding's status and content hash before the
// import changed it.
type priorState struct{ status, hash string }
