package findings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Triage errors: the API maps them to 422, 403 and 409.
var (
	ErrInvalidTriage = errors.New("invalid triage")
	// ErrSelfApproval: a risk acceptance's requester cannot approve it.
	ErrSelfApproval = errors.New("the requester of a risk acceptance cannot approve or reject it")
	// ErrNotPending: the risk acceptance was already decided.
	ErrNotPending = errors.New("the risk acceptance is not pending")
)

// MaxCommentChars is the longest comment, in characters.
const MaxCommentChars = 4000

// BulkMax is the most findings one bulk action changes: a filter that
// matches more is refused, with its count, rather than half-applied.
const BulkMax = 10000

// Bulk actions.
const (
	BulkMute       = "mute"
	BulkAcceptRisk = "accept_risk"
	BulkReopen     = "reopen"
	BulkTriage     = "triage"
	BulkAssign     = "assign"
)

// Risk acceptance states.
const (
	RiskPending  = "pending"
	RiskApproved = "approved"
	RiskRejected = "rejected"
	RiskRevoked  = "revoked"
	RiskExpired  = "expired"
)

// Comment is a person's note on a finding.
type Comment struct {
	ID     int64     `json:"id"`
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Body   string    `json:"body"`
}

// RiskAcceptance is one request to accept a finding's risk, and its decision.
type RiskAcceptance struct {
	ID          string     `json:"id"`
	FindingID   int64      `json:"finding_id"`
	Reason      string     `json:"reason"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	State       string     `json:"state" enum:"pending,approved,rejected,revoked,expired" doc:"expired: approved, and its expiry passed (the finding was unmuted)."`
	DecidedBy   string     `json:"decided_by,omitempty" doc:"The approver (the requester when the team does not require approval), or who rejected or revoked it."`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	Note        string     `json:"note,omitempty"`
}

// TriageSettings are a team's triage rules.
type TriageSettings struct {
	RiskAcceptanceRequiresApproval bool       `json:"risk_acceptance_requires_approval" doc:"A risk acceptance waits for a SECURITY_MANAGER, COMPLIANCE_OFFICER or ADMIN other than the requester."`
	UpdatedBy                      string     `json:"updated_by,omitempty"`
	UpdatedAt                      *time.Time `json:"updated_at,omitempty"`
}

// Assignee is a user of the team, checked by the caller.
type Assignee struct {
	ID    string
	Email string
}

// BulkParams is one triage action on findings named by ID or by a filter.
type BulkParams struct {
	TeamID string
	Actor  string // the email of who acts
	IDs    []int64
	Filter *ListParams // used when IDs is empty
	Action string
	Reason string
	Until  *time.Time
	State  string   // triage: false_positive, out_of_scope or none
	To     Assignee // assign: empty ID unassigns
}

// BulkResult says what a bulk action matched and changed.
type BulkResult struct {
	Matched int `json:"matched" doc:"Findings the IDs or the filter named."`
	Changed int `json:"changed" doc:"Findings the action changed (the others were already so)."`
	Pending int `json:"pending,omitempty" doc:"Risk acceptances created pending approval."`
}

// TooManyError is a bulk action whose filter matches more than BulkMax.
type TooManyError struct{ Matched int }

func (e *TooManyError) Error() string {
	return fmt.Sprintf("the filter matches more than %d findings: narrow it (at most %d at once)", e.Matched-1, BulkMax)
}

// triageFilters adds the triage filters of the list: assignee, triage
// state, new since the previous scan.
func (p *ListParams) triageFilters(w *db.Where) error {
	if p.NewSincePreviousScan {
		// First seen in the latest import of its scope: read per row by
		// primary key, like the last sighting. Not on the default path.
		w.Add(`first_scan_id = (SELECT sl.scan_id FROM scope_latest sl WHERE sl.team_id = findings.team_id AND sl.scope_key = findings.scope_key)`)
	}
	if len(p.Assignee) > 0 {
		var ids []string
		none := false
		for _, a := range p.Assignee {
			if a == "none" {
				none = true
			} else if a != "" {
				ids = append(ids, a)
			}
		}
		switch {
		case len(ids) == 0:
			w.Add("assignee_id = ''")
		case !none:
			// The literal condition lets both engines use the partial index.
			w.Add("assignee_id <> ''")
			w.In("assignee_id", ids)
		default:
			vals := make([]any, len(ids))
			for i, v := range ids {
				vals[i] = v
			}
			w.Add("(assignee_id = '' OR assignee_id IN ("+strings.TrimSuffix(strings.Repeat("%s, ", len(ids)), ", ")+"))", vals...)
		}
	}
	if len(p.Triage) > 0 {
		var ors []string
		var args []any
		// The statuses the triage states keep to, when all of them do: an
		// indexed term for the planner beside the ORs.
		var statuses []string
		restricted := true
		for _, t := range p.Triage {
			switch t {
			case "none":
				statuses = append(statuses, StatusOpen, StatusReopened, StatusResolved)
			case StatusFalsePositive, StatusOutOfScope, StatusMuted:
				statuses = append(statuses, t)
			case MuteRiskAccepted:
				statuses = append(statuses, StatusMuted)
			default:
				restricted = false
			}
		}
		if restricted {
			slices.Sort(statuses)
			w.In("status", slices.Compact(statuses))
		}
		for _, t := range p.Triage {
			switch t {
			case "none":
				ors = append(ors, "status IN ('open', 'reopened', 'resolved')")
			case StatusFalsePositive, StatusOutOfScope:
				ors = append(ors, "status = '"+t+"'")
			case StatusMuted:
				ors = append(ors, "(status = 'muted' AND mute_kind <> 'risk_accepted')")
			case MuteRiskAccepted:
				ors = append(ors, "(status = 'muted' AND mute_kind = 'risk_accepted')")
			case RiskPending, "risk_pending":
				ors = append(ors, "id IN (SELECT finding_id FROM risk_acceptances WHERE team_id = %s AND state = 'pending')")
				args = append(args, p.TeamID)
			default:
				return fmt.Errorf("unknown triage %q: want none, false_positive, out_of_scope, muted, risk_accepted or risk_pending", t)
			}
		}
		w.Add("("+strings.Join(ors, " OR ")+")", args...)
	}
	return nil
}

// parkedOnly tells whether the filter keeps only parked findings (muted,
// risk-accepted, false positive, out of scope): few, found by the status index.
func (p *ListParams) parkedOnly() bool {
	if len(p.Status) > 0 && !slices.ContainsFunc(p.Status, func(s string) bool { return !parked(s) }) {
		return true
	}
	return len(p.Triage) > 0 && !slices.ContainsFunc(p.Triage, func(t string) bool {
		return t != StatusFalsePositive && t != StatusOutOfScope && t != StatusMuted && t != MuteRiskAccepted
	})
}

// MaxUnindexedSort is the most matches a list sorts by title, first or
// last seen: no index gives those orders, so each page sorts every match
// (title over 400,000 findings: 2.5 s, and 35 s at 16 clients). Severity,
// which an index walks, has no limit.
const MaxUnindexedSort = 100000

// unindexedSortLimit is MaxUnindexedSort, or the store's own for tests.
func (s *Store) unindexedSortLimit() int {
	if s.sortLimit > 0 {
		return s.sortLimit
	}
	return MaxUnindexedSort
}

// SortTooBroadError is a sort that would read too many findings.
type SortTooBroadError struct {
	Sort  string
	Total int
}

func (e *SortTooBroadError) Error() string {
	return fmt.Sprintf("sorting %d findings by %s reads every one of them: narrow the filter to at most %d, or sort by severity", e.Total, e.Sort, MaxUnindexedSort)
}

// target is a finding a bulk action works on.
type target struct {
	id       int64
	status   string
	result   string
	muteKind string
	assignee string
}

func (s *Store) targets(ctx context.Context, q db.Querier, p BulkParams) ([]target, error) {
	var (
		cond string
		args []any
	)
	if len(p.IDs) > 0 {
		if len(p.IDs) > BulkMax {
			return nil, &TooManyError{Matched: len(p.IDs)}
		}
		w := &db.Where{}
		w.Add("team_id = %s", p.TeamID)
		ids := make([]string, len(p.IDs))
		for i, v := range p.IDs {
			ids[i] = fmt.Sprint(v)
		}
		// IDs are numbers: bound as text they would not match on PostgreSQL.
		w.Conds = append(w.Conds, "id IN ("+strings.Join(ids, ", ")+")")
		cond, args = w.SQL(), w.Args
	} else {
		if p.Filter == nil {
			return nil, fmt.Errorf("%w: give ids or a filter", ErrInvalidTriage)
		}
		f := *p.Filter
		f.TeamID = p.TeamID
		w, err := f.filters()
		if err != nil {
			return nil, err
		}
		cond, args = w.SQL(), w.Args
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT id, status, result, mute_kind, assignee_id FROM findings WHERE %s ORDER BY id LIMIT %d", cond, BulkMax+1), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []target
	for rows.Next() {
		var t target
		if err := rows.Scan(&t.id, &t.status, &t.result, &t.muteKind, &t.assignee); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) > BulkMax {
		return nil, &TooManyError{Matched: len(out)}
	}
	return out, nil
}

func addHistory(ctx context.Context, q db.Querier, teamID string, findingID int64, at time.Time, change, from, to, actor, note string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO finding_history (team_id, finding_id, at, change, from_status, to_status, actor, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, teamID, findingID, at, change, from, to, actor, note)
	return err
}

// backStatus is where a finding goes when a person ends its mute or
// triage: open if its last result failed, resolved if it passed.
func backStatus(result string) string {
	if result == "pass" {
		return StatusResolved
	}
	return StatusOpen
}

func validUntil(until *time.Time, now time.Time) error {
	if until != nil && !until.After(now) {
		return fmt.Errorf("%w: the expiry is in the past", ErrInvalidTriage)
	}
	return nil
}

// FindingsBulk applies one triage action to findings named by ID or by a
// filter, in one transaction. Findings already so are matched, not changed.
func (s *Store) FindingsBulk(ctx context.Context, p BulkParams) (BulkResult, error) {
	now := s.now().UTC()
	switch p.Action {
	case BulkMute, BulkAcceptRisk:
		if strings.TrimSpace(p.Reason) == "" {
			return BulkResult{}, fmt.Errorf("%w: a reason is required", ErrInvalidTriage)
		}
		if err := validUntil(p.Until, now); err != nil {
			return BulkResult{}, err
		}
	case BulkTriage:
		if p.State != StatusFalsePositive && p.State != StatusOutOfScope && p.State != "none" {
			return BulkResult{}, fmt.Errorf("%w: state must be false_positive, out_of_scope or none", ErrInvalidTriage)
		}
		if p.State != "none" && strings.TrimSpace(p.Reason) == "" {
			return BulkResult{}, fmt.Errorf("%w: a reason is required", ErrInvalidTriage)
		}
	case BulkReopen, BulkAssign:
	default:
		return BulkResult{}, fmt.Errorf("%w: unknown action %q", ErrInvalidTriage, p.Action)
	}
	var res BulkResult
	err := s.d.InTeam(ctx, p.TeamID, func(q db.Querier) error {
		ts, err := s.targets(ctx, q, p)
		if err != nil {
			return err
		}
		res.Matched = len(ts)
		if len(ts) == 0 {
			return nil
		}
		if err := dataVersions.Bump(ctx, q, p.TeamID); err != nil {
			return err
		}
		switch p.Action {
		case BulkMute:
			var ids []findingState
			for _, t := range ts {
				if !parked(t.status) {
					ids = append(ids, findingState{t.id, t.status})
				}
			}
			res.Changed = len(ids)
			return setMuted(ctx, q, p.TeamID, ids, MuteByPerson, "", p.Reason, p.Actor, p.Until, now)
		case BulkAcceptRisk:
			return s.acceptRisk(ctx, q, p, ts, now, &res)
		case BulkReopen:
			for _, t := range ts {
				changed, err := reopen(ctx, q, p.TeamID, t, p.Actor, now)
				if err != nil {
					return err
				}
				if changed {
					res.Changed++
				}
			}
			return nil
		case BulkTriage:
			for _, t := range ts {
				changed, err := setTriage(ctx, q, p.TeamID, t, p.State, p.Reason, p.Actor, now)
				if err != nil {
					return err
				}
				if changed {
					res.Changed++
				}
			}
			return nil
		case BulkAssign:
			for _, t := range ts {
				if t.assignee == p.To.ID {
					continue
				}
				if _, err := q.ExecContext(ctx, "UPDATE findings SET assignee_id = $1, assignee_email = $2 WHERE team_id = $3 AND id = $4",
					p.To.ID, p.To.Email, p.TeamID, t.id); err != nil {
					return err
				}
				note := p.To.Email
				if p.To.ID == "" {
					note = "unassigned"
				}
				if err := addHistory(ctx, q, p.TeamID, t.id, now, "assigned", t.status, t.status, p.Actor, note); err != nil {
					return err
				}
				res.Changed++
			}
		}
		return nil
	})
	if err == nil && res.Changed > 0 {
		s.changed(ctx, p.TeamID)
	}
	return res, err
}

// acceptRisk requests a risk acceptance of each target that has none
// approved or pending: approved at once (the finding muted as
// risk_accepted) unless the team requires approval, pending then.
func (s *Store) acceptRisk(ctx context.Context, q db.Querier, p BulkParams, ts []target, now time.Time, res *BulkResult) error {
	settings, err := triageSettings(ctx, q, p.TeamID)
	if err != nil {
		return err
	}
	pending, err := db.QueryStrings(ctx, q, "SELECT finding_id FROM risk_acceptances WHERE team_id = $1 AND state = 'pending'", p.TeamID)
	if err != nil {
		return err
	}
	waiting := map[string]bool{}
	for _, id := range pending {
		waiting[id] = true
	}
	var untilArg any
	if p.Until != nil {
		untilArg = p.Until.UTC()
	}
	for _, t := range ts {
		if (t.status == StatusMuted && t.muteKind == MuteRiskAccepted) || waiting[fmt.Sprint(t.id)] ||
			t.status == StatusFalsePositive || t.status == StatusOutOfScope {
			continue
		}
		state, decidedBy, decidedAt := RiskApproved, p.Actor, any(now)
		if settings.RiskAcceptanceRequiresApproval {
			state, decidedBy, decidedAt = RiskPending, "", nil
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO risk_acceptances (id, team_id, finding_id, reason, expires_at, requested_by, requested_at, state, decided_by, decided_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, id.New(), p.TeamID, t.id, p.Reason, untilArg, p.Actor, now, state, decidedBy, decidedAt); err != nil {
			return err
		}
		res.Changed++
		if state == RiskPending {
			res.Pending++
			if err := addHistory(ctx, q, p.TeamID, t.id, now, "risk_requested", t.status, t.status, p.Actor, p.Reason); err != nil {
				return err
			}
			continue
		}
		if err := setMuted(ctx, q, p.TeamID, []findingState{{t.id, t.status}}, MuteRiskAccepted, "", p.Reason, p.Actor, p.Until, now); err != nil {
			return err
		}
	}
	return nil
}

// reopen ends whatever a person or a rule parked a finding in (a mute, a
// risk acceptance, a triage state) and any pending risk acceptance.
func reopen(ctx context.Context, q db.Querier, teamID string, t target, actor string, now time.Time) (bool, error) {
	revoked, err := revokeAcceptances(ctx, q, teamID, t.id, actor, now)
	if err != nil {
		return false, err
	}
	if !parked(t.status) {
		return revoked > 0, nil
	}
	to := backStatus(t.result)
	if _, err := q.ExecContext(ctx, `UPDATE findings SET status = $1, mute_kind = '', mute_rule_id = '', muted_reason = '', muted_by = '', muted_until = NULL,
		triage_reason = '', triaged_by = '', triaged_at = NULL WHERE team_id = $2 AND id = $3`, to, teamID, t.id); err != nil {
		return false, err
	}
	change := "unmuted"
	if t.status != StatusMuted {
		change = "triaged"
	}
	return true, addHistory(ctx, q, teamID, t.id, now, change, t.status, to, actor, "reopened")
}

// revokeAcceptances ends a finding's pending and approved risk acceptances.
func revokeAcceptances(ctx context.Context, q db.Querier, teamID string, findingID int64, actor string, now time.Time) (int64, error) {
	r, err := q.ExecContext(ctx, `UPDATE risk_acceptances SET state = 'revoked', decided_by = $1, decided_at = $2
		WHERE team_id = $3 AND finding_id = $4 AND state IN ('pending', 'approved')`, actor, now, teamID, findingID)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// setTriage puts a finding in a triage state, or ("none") out of one.
func setTriage(ctx context.Context, q db.Querier, teamID string, t target, state, reason, actor string, now time.Time) (bool, error) {
	if state == "none" {
		if t.status != StatusFalsePositive && t.status != StatusOutOfScope {
			return false, nil
		}
		return reopen(ctx, q, teamID, t, actor, now)
	}
	if t.status == state {
		return false, nil
	}
	if t.status == StatusMuted && t.muteKind == MuteRiskAccepted {
		if _, err := revokeAcceptances(ctx, q, teamID, t.id, actor, now); err != nil {
			return false, err
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE findings SET status = $1, triage_reason = $2, triaged_by = $3, triaged_at = $4,
		mute_kind = '', mute_rule_id = '', muted_reason = '', muted_by = '', muted_until = NULL WHERE team_id = $5 AND id = $6`,
		state, reason, actor, now, teamID, t.id); err != nil {
		return false, err
	}
	return true, addHistory(ctx, q, teamID, t.id, now, "triaged", t.status, state, actor, reason)
}

// one runs a bulk action on one finding: not found when it is not the team's.
func (s *Store) one(ctx context.Context, p BulkParams, findingID int64) (BulkResult, error) {
	p.IDs, p.Filter = []int64{findingID}, nil
	res, err := s.FindingsBulk(ctx, p)
	if err == nil && res.Matched == 0 {
		return res, db.ErrNotFound
	}
	return res, err
}

// FindingTriageSet sets one finding's triage state (none ends it).
func (s *Store) FindingTriageSet(ctx context.Context, teamID string, findingID int64, actor, state, reason string) error {
	_, err := s.one(ctx, BulkParams{TeamID: teamID, Actor: actor, Action: BulkTriage, State: state, Reason: reason}, findingID)
	return err
}

// FindingAssign assigns one finding (an empty assignee unassigns it).
func (s *Store) FindingAssign(ctx context.Context, teamID string, findingID int64, actor string, to Assignee) error {
	_, err := s.one(ctx, BulkParams{TeamID: teamID, Actor: actor, Action: BulkAssign, To: to}, findingID)
	return err
}

// FindingRiskAccept requests the acceptance of one finding's risk and
// returns it: approved, or pending when the team requires approval.
func (s *Store) FindingRiskAccept(ctx context.Context, teamID string, findingID int64, actor, reason string, until *time.Time) (RiskAcceptance, error) {
	res, err := s.one(ctx, BulkParams{TeamID: teamID, Actor: actor, Action: BulkAcceptRisk, Reason: reason, Until: until}, findingID)
	if err != nil {
		return RiskAcceptance{}, err
	}
	if res.Changed == 0 {
		return RiskAcceptance{}, fmt.Errorf("%w: the finding is already risk-accepted, pending acceptance or triaged out", ErrNotPending)
	}
	var out RiskAcceptance
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		list, err := riskAcceptancesOf(ctx, q, teamID, findingID)
		if err == nil && len(list) > 0 {
			out = list[0]
		}
		return err
	})
	return out, err
}

// FindingReopen ends one finding's mute, risk acceptance or triage state.
func (s *Store) FindingReopen(ctx context.Context, teamID string, findingID int64, actor string) error {
	_, err := s.one(ctx, BulkParams{TeamID: teamID, Actor: actor, Action: BulkReopen}, findingID)
	return err
}

// RiskAcceptanceDecide approves or rejects a finding's pending risk
// acceptance (a finding has at most one pending). The
// caller checks the approver's role; the store checks that the approver is
// not the requester. Approval mutes the finding as risk_accepted until the
// acceptance's expiry.
func (s *Store) RiskAcceptanceDecide(ctx context.Context, teamID string, findingID int64, actor string, approve bool, note string) (RiskAcceptance, error) {
	now := s.now().UTC()
	var ra RiskAcceptance
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		var t target
		if err := q.QueryRowContext(ctx, "SELECT id, status, result, mute_kind, assignee_id FROM findings WHERE team_id = $1 AND id = $2", teamID, findingID).
			Scan(&t.id, &t.status, &t.result, &t.muteKind, &t.assignee); err != nil {
			return db.MapError(err)
		}
		var err error
		ra, err = scanAcceptance(q.QueryRowContext(ctx, "SELECT "+acceptanceColumns+" FROM risk_acceptances WHERE team_id = $1 AND finding_id = $2 AND state = 'pending'", teamID, findingID))
		if errors.Is(err, db.ErrNotFound) {
			return ErrNotPending
		}
		if err != nil {
			return err
		}
		if strings.EqualFold(strings.TrimSpace(ra.RequestedBy), strings.TrimSpace(actor)) {
			return ErrSelfApproval
		}
		acceptanceID := ra.ID
		state, change := RiskRejected, "risk_rejected"
		if approve {
			if ra.ExpiresAt != nil && !ra.ExpiresAt.After(now) {
				return fmt.Errorf("%w: the acceptance expired before it was approved", ErrInvalidTriage)
			}
			state, change = RiskApproved, "risk_approved"
		}
		if _, err := q.ExecContext(ctx, "UPDATE risk_acceptances SET state = $1, decided_by = $2, decided_at = $3, note = $4 WHERE team_id = $5 AND id = $6",
			state, actor, now, note, teamID, acceptanceID); err != nil {
			return err
		}
		ra.State, ra.DecidedBy, ra.DecidedAt, ra.Note = state, actor, &now, note
		if err := dataVersions.Bump(ctx, q, teamID); err != nil {
			return err
		}
		if err := addHistory(ctx, q, teamID, t.id, now, change, t.status, t.status, actor, note); err != nil {
			return err
		}
		if approve && !parked(t.status) {
			return setMuted(ctx, q, teamID, []findingState{{t.id, t.status}}, MuteRiskAccepted, "", ra.Reason, ra.RequestedBy, ra.ExpiresAt, now)
		}
		return nil
	})
	if err == nil && approve {
		s.changed(ctx, teamID)
	}
	return ra, err
}

const acceptanceColumns = "id, finding_id, reason, expires_at, requested_by, requested_at, state, decided_by, decided_at, note"

func scanAcceptance(row interface{ Scan(...any) error }) (RiskAcceptance, error) {
	var (
		ra           RiskAcceptance
		exp, decided db.NullTime
	)
	if err := row.Scan(&ra.ID, &ra.FindingID, &ra.Reason, &exp, &ra.RequestedBy, &ra.RequestedAt, &ra.State, &ra.DecidedBy, &decided, &ra.Note); err != nil {
		return RiskAcceptance{}, db.MapError(err)
	}
	ra.ExpiresAt, ra.DecidedAt = exp.Ptr(), decided.Ptr()
	ra.RequestedAt = ra.RequestedAt.UTC()
	return ra, nil
}

func riskAcceptancesOf(ctx context.Context, q db.Querier, teamID string, findingID int64) ([]RiskAcceptance, error) {
	return queryAcceptances(ctx, q, "SELECT "+acceptanceColumns+" FROM risk_acceptances WHERE team_id = $1 AND finding_id = $2 ORDER BY requested_at DESC, id DESC", teamID, findingID)
}

func queryAcceptances(ctx context.Context, q db.Querier, query string, args ...any) ([]RiskAcceptance, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RiskAcceptance{}
	for rows.Next() {
		ra, err := scanAcceptance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ra)
	}
	return out, rows.Err()
}

// RiskAcceptanceList lists the team's risk acceptances in a state (all
// when empty), newest first, at most 500.
func (s *Store) RiskAcceptanceList(ctx context.Context, teamID, state string) ([]RiskAcceptance, error) {
	var out []RiskAcceptance
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) (err error) {
		if state == "" {
			out, err = queryAcceptances(ctx, q, "SELECT "+acceptanceColumns+" FROM risk_acceptances WHERE team_id = $1 ORDER BY requested_at DESC LIMIT 500", teamID)
		} else {
			out, err = queryAcceptances(ctx, q, "SELECT "+acceptanceColumns+" FROM risk_acceptances WHERE team_id = $1 AND state = $2 ORDER BY requested_at DESC LIMIT 500", teamID, state)
		}
		return err
	})
	return out, err
}

// CommentAdd adds a comment to a finding, and a line to its history.
func (s *Store) CommentAdd(ctx context.Context, teamID string, findingID int64, author, body string) (Comment, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return Comment{}, fmt.Errorf("%w: a comment needs text", ErrInvalidTriage)
	}
	if n := utf8.RuneCountInString(body); n > MaxCommentChars {
		return Comment{}, fmt.Errorf("%w: a comment is at most %d characters (this one has %d)", ErrInvalidTriage, MaxCommentChars, n)
	}
	c := Comment{Author: author, At: s.now().UTC(), Body: body}
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		var status string
		if err := q.QueryRowContext(ctx, "SELECT status FROM findings WHERE team_id = $1 AND id = $2", teamID, findingID).Scan(&status); err != nil {
			return db.MapError(err)
		}
		if err := q.QueryRowContext(ctx, "INSERT INTO finding_comments (team_id, finding_id, author, at, body) VALUES ($1, $2, $3, $4, $5) RETURNING id",
			teamID, findingID, author, c.At, body).Scan(&c.ID); err != nil {
			return err
		}
		note, _, _ := strings.Cut(body, "\n")
		if utf8.RuneCountInString(note) > 200 {
			note = string([]rune(note)[:200]) + "…"
		}
		return addHistory(ctx, q, teamID, findingID, c.At, "commented", status, status, author, note)
	})
	return c, err
}

func commentsOf(ctx context.Context, q db.Querier, teamID string, findingID int64) ([]Comment, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, author, at, body FROM finding_comments WHERE team_id = $1 AND finding_id = $2 ORDER BY id", teamID, findingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Comment{}
	for rows.Next() {
		var c Comment
		if err := rows.Scan(&c.ID, &c.Author, &c.At, &c.Body); err != nil {
			return nil, err
		}
		c.At = c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

func triageSettings(ctx context.Context, q db.Querier, teamID string) (TriageSettings, error) {
	var (
		t  TriageSettings
		at db.NullTime
	)
	err := q.QueryRowContext(ctx, "SELECT risk_acceptance_requires_approval, updated_by, updated_at FROM triage_settings WHERE team_id = $1", teamID).
		Scan(&t.RiskAcceptanceRequiresApproval, &t.UpdatedBy, &at)
	if errors.Is(db.MapError(err), db.ErrNotFound) {
		return TriageSettings{}, nil
	}
	t.UpdatedAt = at.Ptr()
	return t, err
}

// TriageSettingsGet returns the team's triage settings (the defaults when
// it never set them).
func (s *Store) TriageSettingsGet(ctx context.Context, teamID string) (TriageSettings, error) {
	var t TriageSettings
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) (err error) {
		t, err = triageSettings(ctx, q, teamID)
		return err
	})
	return t, err
}

// TriageSettingsSet stores the team's triage settings.
func (s *Store) TriageSettingsSet(ctx context.Context, teamID, actor string, t TriageSettings) (TriageSettings, error) {
	now := s.now().UTC()
	t.UpdatedBy, t.UpdatedAt = actor, &now
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO triage_settings (team_id, risk_acceptance_requires_approval, updated_by, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (team_id) DO UPDATE SET risk_acceptance_requires_approval = excluded.risk_acceptance_requires_approval,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`, teamID, t.RiskAcceptanceRequiresApproval, actor, now)
		return err
	})
	return t, err
}
