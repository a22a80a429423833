package findings

import "github.com/offloadsecurity/cspm/internal/ingest"

// Lifecycle statuses.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	StatusReopened = "reopened"
	StatusMuted    = "muted"
	// StatusFalsePositive and StatusOutOfScope are a person's triage: the
	// finding is wrong, or about something the team does not own. Like a
	// muted finding, it is not an open failure (it leaves every count of
	// status open or reopened) and no later scan changes its status; unlike
	// a mute it has no kind, rule or expiry, and shows as what it is.
	StatusFalsePositive = "false_positive"
	StatusOutOfScope    = "out_of_scope"
)

// TriageStates are the statuses a person sets through triage (see
// FindingTriageSet); "none" ends them.
var TriageStates = []string{StatusFalsePositive, StatusOutOfScope}

// parked tells whether a status is one a person set and scans keep: muted,
// false positive or out of scope. The importer reads the status it already
// has for every stored finding (the snapshot or the batch lookup), so this
// costs no query.
func parked(status string) bool {
	return status == StatusMuted || status == StatusFalsePositive || status == StatusOutOfScope
}

// nextStatus is the lifecycle: a failing result opens (or reopens) a
// finding, a passing one resolves it. A parked finding (muted, false
// positive, out of scope) keeps its status whatever the result: a later
// failing scan does not reopen a false positive, and a passing one does not
// resolve it; only a person ends it (unmute, reopen, triage "none"), which
// puts it back to open or resolved by its last result. A finding missing
// from a later scan of its scope is resolved only from open or reopened
// (see resolveMissing), so a parked one stays parked then too.
func nextStatus(result ingest.Result, current string) string {
	if parked(current) {
		return current
	}
	if result == ingest.ResultPass {
		return StatusResolved
	}
	switch current {
	case StatusResolved:
		return StatusReopened
	case "":
		return StatusOpen
	}
	return current
}
