package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
)

// The two-way sync's platform half: when the finding or vulnerability behind
// a ticket closes in the platform (a scan no longer reports it, it is triaged
// out, its risk accepted, a vulnerability fixed everywhere), the ticket is
// closed in its system with a comment saying why; when it reopens, so does
// the ticket. The ticket system's half is the webhooks (tickets.go).
//
// The sync is edge-triggered on the subject: a ticket remembers the
// subject's state it last synced (tickets.subject_state) and the platform
// acts only when the subject's state differs from it. A ticket its system
// reopened by hand therefore stays open while the subject stays closed, and
// a change that came in through a webhook is recorded as synced without
// going back out (see settleSubjects): no loops.

// Subject states as the sync records them.
const (
	SubjectOpen   = "open"
	SubjectClosed = "closed"
)

// SubjectState is a subject's state as the sync reads it.
type SubjectState struct {
	Closed bool
	// NotPlanned: closed without a fix (false positive, out of scope, an
	// accepted risk): GitHub's state_reason not_planned.
	NotPlanned bool
	// Reason goes into the ticket's comment.
	Reason string
}

func (st SubjectState) name() string {
	if st.Closed {
		return SubjectClosed
	}
	return SubjectOpen
}

// TicketSyncArgs is the ticket_sync job: bring a team's tickets in line with
// their subjects. Jobs are queued after the change that calls for one
// commits (an import, a scan, triage), and every hour for every team (the
// fallback for a process that died in between, and for acceptances that
// lapse); a sync run twice does nothing the second time.
type TicketSyncArgs struct {
	TeamID string `json:"team_id"`
}

// Kind names the job.
func (TicketSyncArgs) Kind() string { return "ticket_sync" }

// InsertOpts: ten attempts with backoff is a ticket system down for about
// a day before the hourly sweep takes over.
func (TicketSyncArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

// TicketSyncWorker works TicketSyncArgs.
type TicketSyncWorker struct {
	river.WorkerDefaults[TicketSyncArgs]
	Service func() *Service
}

// Work syncs one team, or every team with tickets when the job names none.
func (w *TicketSyncWorker) Work(ctx context.Context, job *river.Job[TicketSyncArgs]) error {
	s := w.Service()
	if job.Args.TeamID != "" {
		return s.TicketSync(ctx, job.Args.TeamID)
	}
	teams, err := s.ticketTeams(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range teams {
		if err := s.TicketSync(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("team %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// NextRetry backs off as deliveries do: RetryBase doubled per attempt, at
// most an hour.
func (w *TicketSyncWorker) NextRetry(job *river.Job[TicketSyncArgs]) time.Time {
	s := w.Service()
	wait := s.opts.RetryBase
	for i := 1; i < job.Attempt && wait < time.Hour; i++ {
		wait *= 2
	}
	return s.now().Add(min(wait, time.Hour))
}

// TicketSyncEvery is how often every team's tickets are swept.
const TicketSyncEvery = time.Hour

// EnqueueTicketSync queues a sync of the team's tickets. The caller must
// have committed the change that calls for it; in a transaction of the
// orchestration database use EnqueueTicketSyncTx.
func (s *Service) EnqueueTicketSync(ctx context.Context, teamID string) error {
	_, err := s.queue.Insert(ctx, TicketSyncArgs{TeamID: teamID}, nil)
	return err
}

// EnqueueTicketSyncTx queues a sync in tx, a transaction of the
// orchestration database (where River's tables are).
func (s *Service) EnqueueTicketSyncTx(ctx context.Context, tx *sql.Tx, teamID string) error {
	_, err := s.queue.InsertTx(ctx, tx, TicketSyncArgs{TeamID: teamID}, nil)
	return err
}

// syncTicket is a ticket with what the sync needs of it.
type syncTicket struct {
	Ticket
	subjectState string
}

// TicketSync closes the tickets whose subject closed since the last sync and
// reopens those whose subject reopened. Each ticket is recorded after its
// system accepted the change, so a retry redoes only what failed; the
// errors of the others are joined (River retries the job).
func (s *Service) TicketSync(ctx context.Context, teamID string) error {
	if s.opts.Subjects == nil {
		return nil
	}
	var all []syncTicket
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT `+ticketColsT+`, t.subject_state`+ticketFrom+`
			WHERE t.team_id = $1 ORDER BY t.created_at, t.id LIMIT 10000`, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st syncTicket
			if st.Ticket, err = scanTicket(rows, &st.subjectState); err != nil {
				return err
			}
			all = append(all, st)
		}
		return rows.Err()
	})
	if err != nil || len(all) == 0 {
		return err
	}
	states, err := subjectStates(ctx, s.opts.Subjects, teamID, all)
	if err != nil {
		return err
	}
	integrations := map[string]Integration{}
	var errs []error
	for _, t := range all {
		st, ok := states[t.SubjectKind+":"+t.SubjectID]
		if !ok || st.name() == t.subjectState {
			continue // gone (deleted with its data), or unchanged since the last sync
		}
		it, ok := integrations[t.IntegrationID]
		if !ok {
			if err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
				it, err = s.integrationGet(ctx, q, teamID, t.IntegrationID, true)
				return err
			}); err != nil {
				errs = append(errs, err)
				continue
			}
			integrations[t.IntegrationID] = it
		}
		state, status := t.State, t.StatusName
		switch {
		case st.Closed && t.State != TicketDone:
			status, err = s.closeRemote(ctx, it, t.Key, st)
			state = TicketDone
		case !st.Closed && t.State == TicketDone:
			status, err = s.reopenRemote(ctx, it, t.Key, st)
			state = TicketOpen
		default:
			err = nil // the ticket already says so (its system got there first)
		}
		if err != nil {
			s.logger.Warn("ticket sync failed", "team_id", teamID, "key", t.Key, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", t.Key, err))
			s.setSyncError(ctx, teamID, t.ID, err)
			continue
		}
		if err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
			// Conditional on the state read: a sync running beside this
			// one records the ticket once.
			_, err := q.ExecContext(ctx, `UPDATE tickets SET subject_state = $1, state = $2, status_name = $3, sync_error = '', updated_at = $4
				WHERE team_id = $5 AND id = $6 AND subject_state = $7`, st.name(), state, status, s.now().UTC(), teamID, t.ID, t.subjectState)
			return err
		}); err != nil {
			errs = append(errs, err)
			continue
		}
		if state != t.State {
			action := "tickets.closed_by_platform"
			if state == TicketOpen {
				action = "tickets.reopened_by_platform"
			}
			s.record(ctx, audit.Event{ActorEmail: "ticket sync"}, teamID, action, t.SubjectKind, t.SubjectID, map[string]any{"key": t.Key, "reason": st.Reason})
		}
	}
	return errors.Join(errs...)
}

func (s *Service) setSyncError(ctx context.Context, teamID, ticketID string, cause error) {
	if err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `UPDATE tickets SET sync_error = $1 WHERE team_id = $2 AND id = $3`, truncate(cause.Error(), 500), teamID, ticketID)
		return err
	}); err != nil {
		s.logger.Warn("recording a ticket sync error failed", "err", err)
	}
}

// subjectStates asks the app for the states of the tickets' subjects, one
// batch per kind; keys are kind:id.
func subjectStates(ctx context.Context, subjects Subjects, teamID string, all []syncTicket) (map[string]SubjectState, error) {
	ids := map[string][]string{}
	for _, t := range all {
		ids[t.SubjectKind] = append(ids[t.SubjectKind], t.SubjectID)
	}
	out := map[string]SubjectState{}
	for kind, list := range ids {
		m, err := subjects.States(ctx, teamID, kind, list)
		if err != nil {
			return nil, fmt.Errorf("states of %s subjects: %w", kind, err)
		}
		for id, st := range m {
			out[kind+":"+id] = st
		}
	}
	return out, nil
}

// settleSubjects records the subjects' current states on tickets as synced,
// without telling the ticket systems: a webhook's change (and what it did to
// the subject, such as closing it) must not bounce back out.
func (s *Service) settleSubjects(ctx context.Context, subjects Subjects, teamID string, tickets []Ticket) error {
	if subjects == nil || len(tickets) == 0 {
		return nil
	}
	all := make([]syncTicket, len(tickets))
	for i, t := range tickets {
		all[i].Ticket = t
	}
	states, err := subjectStates(ctx, subjects, teamID, all)
	if err != nil {
		return err
	}
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		for _, t := range tickets {
			st, ok := states[t.SubjectKind+":"+t.SubjectID]
			if !ok {
				continue
			}
			if _, err := q.ExecContext(ctx, `UPDATE tickets SET subject_state = $1 WHERE team_id = $2 AND id = $3`, st.name(), teamID, t.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// ticketTeams lists the teams that have tickets (the hourly sweep).
func (s *Service) ticketTeams(ctx context.Context) ([]string, error) {
	var out []string
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		var err error
		out, err = db.QueryStrings(ctx, q, `SELECT DISTINCT team_id FROM tickets ORDER BY team_id`)
		return err
	})
	return out, err
}

// closeRemote closes a ticket in its system with a comment saying why, and
// answers the status its system now shows.
func (s *Service) closeRemote(ctx context.Context, it Integration, key string, st SubjectState) (string, error) {
	comment := "Closed by OffloadSecurity CSPM: " + orDefault(st.Reason, "the finding is closed in the platform") + "."
	switch it.Kind {
	case TicketJira:
		return s.jiraMove(ctx, it, key, []string{"done"}, comment)
	case TicketGitHub:
		reason := "completed"
		if st.NotPlanned {
			reason = "not_planned"
		}
		return s.githubSet(ctx, it, key, "closed", reason, comment)
	}
	return "", fmt.Errorf("unknown ticket system %q", it.Kind)
}

// reopenRemote reopens a ticket whose subject reopened.
func (s *Service) reopenRemote(ctx context.Context, it Integration, key string, st SubjectState) (string, error) {
	comment := "Reopened by OffloadSecurity CSPM: " + orDefault(st.Reason, "the finding is open again") + "."
	switch it.Kind {
	case TicketJira:
		// To Do first; a workflow without a way back there gets In Progress.
		return s.jiraMove(ctx, it, key, []string{"new", "indeterminate"}, comment)
	case TicketGitHub:
		return s.githubSet(ctx, it, key, "open", "reopened", comment)
	}
	return "", fmt.Errorf("unknown ticket system %q", it.Kind)
}

// jiraStatus is how Jira names a status and its category (new,
// indeterminate, done) in issues and transitions.
type jiraStatus struct {
	Name           string `json:"name"`
	StatusCategory struct {
		Key string `json:"key"`
	} `json:"statusCategory"`
}

// jiraMove transitions a Jira issue to a status of the first category of
// want that a transition reaches, unless it is in one of them already, and
// comments. Jira's workflows differ per project, so the transition is
// found by where it goes, never by its name or ID.
func (s *Service) jiraMove(ctx context.Context, it Integration, key string, want []string, comment string) (string, error) {
	issue := it.BaseURL + "/rest/api/2/issue/" + url.PathEscape(key)
	var cur struct {
		Fields struct {
			Status jiraStatus `json:"status"`
		} `json:"fields"`
	}
	if err := s.callJSON(ctx, it, http.MethodGet, issue+"?fields=status", nil, &cur); err != nil {
		return "", err
	}
	status := cur.Fields.Status.Name
	if !inCategory(cur.Fields.Status.StatusCategory.Key, want) {
		var tr struct {
			Transitions []struct {
				ID string     `json:"id"`
				To jiraStatus `json:"to"`
			} `json:"transitions"`
		}
		if err := s.callJSON(ctx, it, http.MethodGet, issue+"/transitions", nil, &tr); err != nil {
			return "", err
		}
		id := ""
		for _, cat := range want {
			for _, t := range tr.Transitions {
				if id == "" && t.To.StatusCategory.Key == cat {
					id, status = t.ID, t.To.Name
				}
			}
		}
		if id == "" {
			return "", fmt.Errorf("%w: %s: no transition from %q leads to a %s status", ErrTicketSystem, key, cur.Fields.Status.Name, strings.Join(want, " or "))
		}
		if err := s.callJSON(ctx, it, http.MethodPost, issue+"/transitions", map[string]any{"transition": map[string]string{"id": id}}, nil); err != nil {
			return "", err
		}
	}
	if err := s.callJSON(ctx, it, http.MethodPost, issue+"/comment", map[string]string{"body": comment}, nil); err != nil {
		return "", err
	}
	return status, nil
}

func inCategory(key string, want []string) bool {
	for _, w := range want {
		if key == w {
			return true
		}
	}
	return false
}

// githubSet comments on a GitHub issue and sets its state (open or closed)
// with a state_reason (completed, not_planned, reopened). The comment goes
// first, so the issue's timeline says why before it says closed.
func (s *Service) githubSet(ctx context.Context, it Integration, key, state, reason, comment string) (string, error) {
	repo, num, ok := strings.Cut(key, "#")
	if !ok || repo == "" || num == "" {
		return "", fmt.Errorf("%w: ticket key %q: want owner/repo#number", ErrInvalid, key)
	}
	issue := it.BaseURL + "/repos/" + repo + "/issues/" + url.PathEscape(num)
	if err := s.callJSON(ctx, it, http.MethodPost, issue+"/comments", map[string]string{"body": comment}, nil); err != nil {
		return "", err
	}
	var out struct {
		State       string `json:"state"`
		StateReason string `json:"state_reason"`
	}
	if err := s.callJSON(ctx, it, http.MethodPatch, issue, map[string]string{"state": state, "state_reason": reason}, &out); err != nil {
		return "", err
	}
	status := orDefault(out.State, state)
	if out.StateReason != "" && status == "closed" {
		status += " (" + out.StateReason + ")"
	}
	return status, nil
}
