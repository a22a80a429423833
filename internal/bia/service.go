package bia

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// checkOwner refuses an owner who is not an enabled user of the team.
func (s *Service) checkOwner(ctx context.Context, teamID string, r *Record) error {
	r.OwnerID = strings.TrimSpace(r.OwnerID)
	if r.OwnerID == "" || s.users == nil {
		return nil
	}
	_, ok, err := s.users.TeamUser(ctx, teamID, r.OwnerID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: the owner must be an enabled user of the team", ErrInvalid)
	}
	return nil
}

// prepare validates a record against the team's settings and its owner.
func (s *Service) prepare(ctx context.Context, teamID string, r *Record) error {
	st, err := s.SettingsGet(ctx, teamID)
	if err != nil {
		return err
	}
	if err := r.validate(st); err != nil {
		return err
	}
	r.LastReviewedAt = nil // set by approvals only
	return s.checkOwner(ctx, teamID, r)
}

// ProcessCreate starts an analysis as a draft, version 1.
func (s *Service) ProcessCreate(ctx context.Context, teamID string, r Record, a Actor) (Process, error) {
	if err := s.prepare(ctx, teamID, &r); err != nil {
		return Process{}, err
	}
	now := s.now().UTC()
	pid := id.New()
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		t, err := s.team(ctx, q, teamID)
		if err != nil {
			return err
		}
		if err := t.checkDeps(pid, processDeps(&r)); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO bia_processes (id, team_id, latest_version, approved_version, revision, created_by,
			created_at, updated_at) VALUES ($1, $2, 1, 0, 1, $3, $4, $4)`, pid, teamID, a.ActorEmail, now); err != nil {
			return err
		}
		v := Version{ProcessID: pid, Version: 1, Status: StatusDraft, Record: r, AuthorID: a.ActorID, AuthorEmail: a.ActorEmail,
			CreatedAt: now, UpdatedAt: now, contributors: []string{a.ActorID}}
		return insertVersion(ctx, q, teamID, &v)
	})
	if err != nil {
		return Process{}, err
	}
	s.record(ctx, a, teamID, "bia.created", pid, map[string]any{"name": r.Name, "tier": r.Tier})
	return s.ProcessGet(ctx, teamID, pid)
}

// UpdateParams change an analysis. Revision is the process revision the
// change was made on; a stale one is refused with ErrStale.
type UpdateParams struct {
	Record   Record
	Revision *int64
}

// ErrPrecondition: an edit that does not say which revision it changes (428).
var ErrPrecondition = errors.New("an edit must name the revision it changes (If-Match or revision)")

// ProcessUpdate changes the analysis. A draft (or a returned version, which
// goes back to draft) is changed in place; an approved one is read-only, so
// the change starts a new draft version while the approved one stays in
// force. A version in review, or an archived analysis, is not changed.
func (s *Service) ProcessUpdate(ctx context.Context, teamID, processID string, up UpdateParams, a Actor) (Process, error) {
	r := up.Record
	// Another team's process is not found, whatever the record says.
	if err := s.exists(ctx, teamID, processID); err != nil {
		return Process{}, err
	}
	if up.Revision == nil {
		return Process{}, ErrPrecondition
	}
	if err := s.prepare(ctx, teamID, &r); err != nil {
		return Process{}, err
	}
	now := s.now().UTC()
	var newVersion bool
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		t, err := s.team(ctx, q, teamID)
		if err != nil {
			return err
		}
		p := t.procs[processID]
		if p == nil {
			return db.ErrNotFound
		}
		if p.Revision != *up.Revision {
			return ErrStale
		}
		if err := t.checkDeps(processID, processDeps(&r)); err != nil {
			return err
		}
		v := p.Latest
		switch v.Status {
		case StatusDraft, StatusReturned:
			if v.Status == StatusReturned {
				if err := insertTransition(ctx, q, teamID, p, Transition{Version: v.Version, Action: ActionRevise, FromStatus: v.Status,
					ToStatus: StatusDraft, ActorID: a.ActorID, ActorEmail: a.ActorEmail, Comment: "changed after it was returned", At: now}); err != nil {
					return err
				}
			}
			v.Status, v.Record, v.UpdatedAt = StatusDraft, r, now
			if !slices.Contains(v.contributors, a.ActorID) {
				v.contributors = append(v.contributors, a.ActorID)
			}
			if err := updateVersion(ctx, q, teamID, &v); err != nil {
				return err
			}
		case StatusApproved:
			newVersion = true
			v = Version{ProcessID: processID, Version: p.LatestVersion + 1, Status: StatusDraft, Record: r, AuthorID: a.ActorID,
				AuthorEmail: a.ActorEmail, CreatedAt: now, UpdatedAt: now, contributors: []string{a.ActorID}}
			if err := insertVersion(ctx, q, teamID, &v); err != nil {
				return err
			}
			p.LatestVersion = v.Version
		case StatusInReview:
			return fmt.Errorf("%w: version %d is in review; it must be returned before it changes", ErrState, v.Version)
		default:
			return fmt.Errorf("%w: the analysis is %s", ErrState, v.Status)
		}
		return bumpProcess(ctx, q, teamID, p, up.Revision, now)
	})
	if err != nil {
		return Process{}, err
	}
	s.record(ctx, a, teamID, "bia.updated", processID, map[string]any{"name": r.Name, "new_version": newVersion})
	return s.ProcessGet(ctx, teamID, processID)
}

// ProcessDelete removes an analysis that was never approved and that no
// other process depends on; an approved one is archived instead, and kept.
func (s *Service) ProcessDelete(ctx context.Context, teamID, processID string, a Actor) error {
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		t, err := s.team(ctx, q, teamID)
		if err != nil {
			return err
		}
		p := t.procs[processID]
		if p == nil {
			return db.ErrNotFound
		}
		if p.ApprovedVersion != 0 || p.Status == StatusArchived {
			return fmt.Errorf("%w: an analysis that was approved is kept; archive it instead", ErrState)
		}
		for pid, o := range t.procs {
			if pid != processID && live(o) && (slices.Contains(processDeps(&o.Latest.Record), processID) ||
				slices.Contains(approvedDeps(o), processID)) {
				return fmt.Errorf("%w: %s depends on it", ErrState, o.Latest.Record.Name)
			}
		}
		for _, stmt := range []string{`DELETE FROM bia_transitions WHERE team_id = $1 AND process_id = $2`,
			`DELETE FROM bia_versions WHERE team_id = $1 AND process_id = $2`, `DELETE FROM bia_processes WHERE team_id = $1 AND id = $2`} {
			if _, err := q.ExecContext(ctx, stmt, teamID, processID); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.record(ctx, a, teamID, "bia.deleted", processID, nil)
	}
	return err
}

// TransitionParams is one lifecycle step. Revision, when set, must be the
// process's current revision.
type TransitionParams struct {
	Action   string
	Comment  string
	Revision *int64
}

// blocking are the gaps that keep a draft from review.
var blocking = map[string]bool{"rto_missing": true, "rpo_missing": true, "mtpd_missing": true, "rto_exceeds_mtpd": true,
	"rpo_exceeds_rto": true, "owner_missing": true, "owner_not_in_team": true}

// approver reports whether a role may approve or return analyses.
func approver(r rbac.Role) bool { return r == rbac.SecurityManager || r == rbac.ComplianceOfficer }

// ProcessTransition takes one lifecycle step on the latest version:
//
//	submit   draft -> in_review        (bia:manage; refused while blocking gaps remain)
//	approve  in_review -> approved     (SECURITY_MANAGER or COMPLIANCE_OFFICER, never an author of the version)
//	return   in_review -> returned     (SECURITY_MANAGER or COMPLIANCE_OFFICER, with a comment)
//	revise   returned -> draft         (bia:manage)
//	archive  any -> archived           (ADMIN)
//
// An approval supersedes the version approved before it. Every step is
// recorded with its actor and comment, and audited.
func (s *Service) ProcessTransition(ctx context.Context, teamID, processID string, tp TransitionParams, a Actor) (Process, error) {
	tp.Comment = strings.TrimSpace(tp.Comment)
	if len(tp.Comment) > 5000 {
		return Process{}, fmt.Errorf("%w: a comment has at most 5,000 characters", ErrInvalid)
	}
	// Gaps need the owners looked up, which is a read outside the write.
	before, err := s.ProcessGet(ctx, teamID, processID)
	if err != nil {
		return Process{}, err
	}
	now := s.now().UTC()
	var tr Transition
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		t, err := s.team(ctx, q, teamID)
		if err != nil {
			return err
		}
		p := t.procs[processID]
		if p == nil {
			return db.ErrNotFound
		}
		if tp.Revision != nil && *tp.Revision != p.Revision {
			return ErrStale
		}
		v := p.Latest
		tr = Transition{Version: v.Version, Action: tp.Action, FromStatus: v.Status, ActorID: a.ActorID, ActorEmail: a.ActorEmail,
			Comment: tp.Comment, At: now}
		want := map[string][]string{ActionSubmit: {StatusDraft}, ActionApprove: {StatusInReview}, ActionReturn: {StatusInReview},
			ActionRevise: {StatusReturned}, ActionArchive: {StatusDraft, StatusInReview, StatusReturned, StatusApproved}}
		from, known := want[tp.Action]
		if !known {
			return fmt.Errorf("%w: unknown action %q: want submit, approve, return, revise or archive", ErrInvalid, tp.Action)
		}
		if !slices.Contains(from, v.Status) {
			return fmt.Errorf("%w: cannot %s version %d, which is %s", ErrState, tp.Action, v.Version, v.Status)
		}
		switch tp.Action {
		case ActionSubmit:
			var open []string
			for _, g := range before.Gaps {
				if blocking[g.Code] {
					open = append(open, g.Message)
				}
			}
			if len(open) > 0 {
				return fmt.Errorf("%w: resolve these gaps before review: %s", ErrInvalid, strings.Join(open, " "))
			}
			v.Status, v.SubmittedBy = StatusInReview, a.ActorID
		case ActionApprove, ActionReturn:
			if !approver(a.Role) {
				return fmt.Errorf("%w: only a SECURITY_MANAGER or COMPLIANCE_OFFICER may %s an analysis", ErrForbidden, tp.Action)
			}
			if tp.Action == ActionReturn {
				if tp.Comment == "" {
					return fmt.Errorf("%w: returning an analysis needs a comment saying what to change", ErrInvalid)
				}
				v.Status = StatusReturned
				break
			}
			if slices.Contains(v.contributors, a.ActorID) || v.SubmittedBy == a.ActorID || v.AuthorID == a.ActorID {
				return fmt.Errorf("%w: segregation of duties: an author of an analysis may not approve it", ErrForbidden)
			}
			if p.Approved != nil {
				old := *p.Approved
				old.Status, old.UpdatedAt = StatusSuperseded, now
				if err := updateVersion(ctx, q, teamID, &old); err != nil {
					return err
				}
			}
			v.Status, v.ApprovedBy, v.ApprovedAt = StatusApproved, a.ActorEmail, &now
			v.Record.LastReviewedAt = &now
			if v.Record.ReviewDate == nil || !v.Record.ReviewDate.After(now) {
				due := now.AddDate(0, v.Record.interval(), 0)
				v.Record.ReviewDate = &due
			}
			p.ApprovedVersion = v.Version
		case ActionRevise:
			v.Status = StatusDraft
		case ActionArchive:
			if a.Role != rbac.Admin && !a.system {
				return fmt.Errorf("%w: only an ADMIN may archive an analysis", ErrForbidden)
			}
			if p.Approved != nil {
				old := *p.Approved
				old.Status, old.UpdatedAt = StatusArchived, now
				if err := updateVersion(ctx, q, teamID, &old); err != nil {
					return err
				}
			}
			v.Status = StatusArchived
		}
		v.Comment, v.UpdatedAt = tp.Comment, now
		tr.ToStatus = v.Status
		if err := updateVersion(ctx, q, teamID, &v); err != nil {
			return err
		}
		if err := insertTransition(ctx, q, teamID, p, tr); err != nil {
			return err
		}
		return bumpProcess(ctx, q, teamID, p, tp.Revision, now)
	})
	if err != nil {
		return Process{}, err
	}
	s.record(ctx, a, teamID, "bia."+tp.Action, processID, map[string]any{"version": tr.Version, "from": tr.FromStatus, "to": tr.ToStatus,
		"comment": tr.Comment})
	return s.ProcessGet(ctx, teamID, processID)
}

// ArchiveOverdue archives, in every team, the analyses whose review is
// overdue by more than grace, as the system (the periodic job). It returns
// how many it archived.
func (s *Service) ArchiveOverdue(ctx context.Context, teamIDs []string, grace time.Duration) (int, error) {
	n := 0
	var errs []error
	system := Actor{system: true}
	system.ActorEmail = "system"
	for _, teamID := range teamIDs {
		t, err := s.derived(ctx, teamID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cutoff := s.now().UTC().Add(-grace)
		for pid, p := range t.procs {
			if !live(p) || p.ReviewDue == nil || !p.ReviewDue.Before(cutoff) {
				continue
			}
			comment := fmt.Sprintf("review overdue since %s, beyond the grace of %s", p.ReviewDue.UTC().Format(time.DateOnly), grace)
			if _, err := s.ProcessTransition(ctx, teamID, pid, TransitionParams{Action: ActionArchive, Comment: comment}, system); err != nil {
				if !errors.Is(err, ErrState) { // changed meanwhile
					errs = append(errs, err)
				}
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}
