package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// Ticket systems.
const (
	TicketJira   = "jira"
	TicketGitHub = "github"
)

// Ticket states.
const (
	TicketOpen = "open"
	TicketDone = "done"
)

// Integration is a team's ticket system as the API shows it: never its
// token or webhook secret.
type Integration struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind" enum:"jira,github"`
	Name        string    `json:"name"`
	BaseURL     string    `json:"base_url"`
	Project     string    `json:"project" doc:"Jira project key, or GitHub owner/repo."`
	IssueType   string    `json:"issue_type,omitempty"`
	Username    string    `json:"username,omitempty"`
	CloseOnDone bool      `json:"close_on_done" doc:"A ticket done closes its finding or vulnerability."`
	WebhookURL  string    `json:"webhook_url" doc:"Where the ticket system sends its webhook (Jira: with the secret as ?secret=)."`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// WebhookSecret is answered once, in the answer that generated it.
	WebhookSecret string `json:"webhook_secret,omitempty"`

	token, webhookSecret string
}

// IntegrationInput creates or changes an integration.
type IntegrationInput struct {
	Kind          string `json:"kind" enum:"jira,github"`
	Name          string `json:"name" minLength:"1" maxLength:"200"`
	BaseURL       string `json:"base_url,omitempty" maxLength:"2048" doc:"Jira: https://your-site.atlassian.net or the Data Center URL. GitHub: default https://api.github.com."`
	Project       string `json:"project" minLength:"1" maxLength:"200"`
	IssueType     string `json:"issue_type,omitempty" maxLength:"100" doc:"Jira: default Task."`
	Username      string `json:"username,omitempty" maxLength:"255" doc:"Jira Cloud: the account's email (with an API token). Empty: the token is a bearer token (Jira Data Center PAT, GitHub)."`
	Token         string `json:"token,omitempty" maxLength:"4096" doc:"Write-only; kept when empty on a change."`
	WebhookSecret string `json:"webhook_secret,omitempty" maxLength:"256" doc:"Write-only; generated and answered once when empty at creation."`
	CloseOnDone   bool   `json:"close_on_done,omitempty"`
}

// Ticket is a finding or vulnerability pushed to a ticket system.
type Ticket struct {
	ID              string    `json:"id"`
	IntegrationID   string    `json:"integration_id"`
	IntegrationKind string    `json:"integration_kind" enum:"jira,github"`
	SubjectKind     string    `json:"subject_kind" enum:"finding,vulnerability"`
	SubjectID       string    `json:"subject_id"`
	Key             string    `json:"key" doc:"PROJ-12, or owner/repo#34."`
	URL             string    `json:"url"`
	State           string    `json:"state" enum:"open,done"`
	StatusName      string    `json:"status_name" doc:"The ticket system's own status name."`
	CreatedBy       string    `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	// SyncError is why the platform could not last close or reopen the
	// ticket in its system (ticketsync.go); it retries.
	SyncError string `json:"sync_error,omitempty"`
}

// Subject is what a ticket is about, as the app describes it.
type Subject struct {
	Kind        string // finding, vulnerability
	ID          string
	Title       string
	Description string
	Severity    string
	Path        string // in the web UI
	// Closed: the subject is closed already (the ticket starts synced to it).
	Closed bool
}

// Subjects describes findings and vulnerabilities for tickets, closes them
// when their ticket is done and the integration says so, and tells the
// two-way sync their states. The app implements it over the findings and
// vulnerability services.
type Subjects interface {
	Subject(ctx context.Context, teamID, kind, id string) (Subject, error)
	Close(ctx context.Context, teamID, kind, id, reason string) error
	// States answers the states of the subjects of a kind it knows, in one
	// batch; a subject it does not know is left out.
	States(ctx context.Context, teamID, kind string, ids []string) (map[string]SubjectState, error)
}

func tokenContext(integrationID string) string { return "ticket_integration:" + integrationID }
func webhookContext(integrationID string) string {
	return "ticket_integration_webhook:" + integrationID
}

func (s *Service) checkIntegration(in *IntegrationInput) []string {
	var problems []string
	in.Name, in.Project, in.BaseURL = strings.TrimSpace(in.Name), strings.TrimSpace(in.Project), strings.TrimRight(strings.TrimSpace(in.BaseURL), "/")
	switch in.Kind {
	case TicketJira:
		if in.BaseURL == "" {
			problems = append(problems, "base_url is required for Jira")
		}
		if in.IssueType == "" {
			in.IssueType = "Task"
		}
	case TicketGitHub:
		if in.BaseURL == "" {
			in.BaseURL = "https://api.github.com"
		}
		if o, r, ok := strings.Cut(in.Project, "/"); !ok || o == "" || r == "" || strings.Contains(r, "/") {
			problems = append(problems, fmt.Sprintf("project %q: want owner/repo", in.Project))
		}
	default:
		problems = append(problems, fmt.Sprintf("unknown ticket system %q: want jira or github", in.Kind))
	}
	if in.BaseURL != "" {
		if _, err := s.guard.CheckURL(in.BaseURL); err != nil {
			problems = append(problems, "base_url: "+err.Error())
		}
	}
	if in.Name == "" {
		problems = append(problems, "name is required")
	}
	if in.WebhookSecret != "" && len(in.WebhookSecret) < 16 {
		problems = append(problems, "webhook_secret: at least 16 characters")
	}
	return problems
}

// webhookURL is where the ticket system posts its events.
func (s *Service) webhookURL(in Integration) string {
	return s.opts.PublicURL + "/api/v1/tickets/webhooks/" + in.Kind + "?integration=" + in.ID
}

// IntegrationCreate adds a ticket system to the team.
func (s *Service) IntegrationCreate(ctx context.Context, teamID string, in IntegrationInput, actor audit.Event) (Integration, error) {
	problems := s.checkIntegration(&in)
	if in.Token == "" {
		problems = append(problems, "token is required")
	}
	if len(problems) > 0 {
		return Integration{}, invalid(problems)
	}
	now := s.now().UTC()
	it := Integration{ID: id.New(), Kind: in.Kind, Name: in.Name, BaseURL: in.BaseURL, Project: in.Project, IssueType: in.IssueType,
		Username: in.Username, CloseOnDone: in.CloseOnDone, CreatedAt: now, UpdatedAt: now, token: in.Token, webhookSecret: in.WebhookSecret}
	if it.webhookSecret == "" {
		it.webhookSecret = id.Token(24)
		it.WebhookSecret = it.webhookSecret
	}
	it.WebhookURL = s.webhookURL(it)
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO ticket_integrations (id, team_id, kind, name, base_url, project, issue_type, username, token,
			webhook_secret, close_on_done, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			it.ID, teamID, it.Kind, it.Name, it.BaseURL, it.Project, it.IssueType, it.Username, s.box.Seal(it.token, tokenContext(it.ID)),
			s.box.Seal(it.webhookSecret, webhookContext(it.ID)), it.CloseOnDone, now)
		return err
	})
	if err != nil {
		return Integration{}, err
	}
	s.record(ctx, actor, teamID, "tickets.integration_created", "ticket_integration", it.ID, map[string]any{"kind": it.Kind, "project": it.Project})
	return it, nil
}

// IntegrationUpdate changes an integration; empty secrets keep the stored ones.
func (s *Service) IntegrationUpdate(ctx context.Context, teamID, integrationID string, in IntegrationInput, actor audit.Event) (Integration, error) {
	var it Integration
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		if it, err = s.integrationGet(ctx, q, teamID, integrationID, true); err != nil {
			return err
		}
		in.Kind = it.Kind // the system of an integration does not change
		if problems := s.checkIntegration(&in); len(problems) > 0 {
			return invalid(problems)
		}
		it.Name, it.BaseURL, it.Project, it.IssueType, it.Username, it.CloseOnDone = in.Name, in.BaseURL, in.Project, in.IssueType, in.Username, in.CloseOnDone
		if in.Token != "" {
			it.token = in.Token
		}
		if in.WebhookSecret != "" {
			it.webhookSecret = in.WebhookSecret
		}
		it.UpdatedAt = s.now().UTC()
		_, err = q.ExecContext(ctx, `UPDATE ticket_integrations SET name = $1, base_url = $2, project = $3, issue_type = $4, username = $5,
			token = $6, webhook_secret = $7, close_on_done = $8, updated_at = $9 WHERE team_id = $10 AND id = $11`,
			it.Name, it.BaseURL, it.Project, it.IssueType, it.Username, s.box.Seal(it.token, tokenContext(it.ID)),
			s.box.Seal(it.webhookSecret, webhookContext(it.ID)), it.CloseOnDone, it.UpdatedAt, teamID, it.ID)
		return err
	})
	if err != nil {
		return Integration{}, err
	}
	s.record(ctx, actor, teamID, "tickets.integration_changed", "ticket_integration", it.ID, nil)
	return it, nil
}

// IntegrationDelete removes an integration and its tickets' records (the
// tickets themselves stay in the ticket system).
func (s *Service) IntegrationDelete(ctx context.Context, teamID, integrationID string, actor audit.Event) error {
	return s.deleteOwned(ctx, teamID, integrationID, actor, owned{table: "ticket_integrations", children: "tickets", childKey: "integration_id",
		action: "tickets.integration_deleted", targetType: "ticket_integration"})
}

// IntegrationList returns the team's ticket systems.
func (s *Service) IntegrationList(ctx context.Context, teamID string) ([]Integration, error) {
	out := []Integration{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT `+integrationCols+` FROM ticket_integrations WHERE team_id = $1 ORDER BY name, id`, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, _, _, err := scanIntegration(rows)
			if err != nil {
				return err
			}
			it.WebhookURL = s.webhookURL(it)
			out = append(out, it)
		}
		return rows.Err()
	})
	return out, err
}

const integrationCols = `id, kind, name, base_url, project, issue_type, username, close_on_done, created_at, updated_at, token, webhook_secret`

func scanIntegration(row scanner) (Integration, string, string, error) {
	var (
		it               Integration
		token, secret    string
		created, updated time.Time
	)
	if err := row.Scan(&it.ID, &it.Kind, &it.Name, &it.BaseURL, &it.Project, &it.IssueType, &it.Username, &it.CloseOnDone, &created, &updated,
		&token, &secret); err != nil {
		return Integration{}, "", "", db.MapError(err)
	}
	it.CreatedAt, it.UpdatedAt = created.UTC(), updated.UTC()
	return it, token, secret, nil
}

func (s *Service) integrationGet(ctx context.Context, q db.Querier, teamID, integrationID string, withSecrets bool) (Integration, error) {
	it, token, secret, err := scanIntegration(q.QueryRowContext(ctx, `SELECT `+integrationCols+` FROM ticket_integrations WHERE team_id = $1 AND id = $2`,
		teamID, integrationID))
	if err != nil {
		return Integration{}, err
	}
	it.WebhookURL = s.webhookURL(it)
	if withSecrets {
		if it.token, err = s.box.Open(token, tokenContext(it.ID)); err != nil {
			return Integration{}, fmt.Errorf("token of integration %s: %w", it.ID, err)
		}
		if it.webhookSecret, err = s.box.Open(secret, webhookContext(it.ID)); err != nil {
			return Integration{}, fmt.Errorf("webhook secret of integration %s: %w", it.ID, err)
		}
	}
	return it, nil
}

// TicketParams pushes subjects to an integration.
type TicketParams struct {
	IntegrationID string   `json:"integration_id" maxLength:"64"`
	SubjectKind   string   `json:"subject_kind" enum:"finding,vulnerability"`
	SubjectIDs    []string `json:"subject_ids" minItems:"1" maxItems:"50" doc:"Finding IDs, or vulnerability IDs (CVE-...)."`
}

// TicketCreate opens a ticket per subject, or answers the one already open
// for it in that integration.
func (s *Service) TicketCreate(ctx context.Context, teamID string, p TicketParams, subjects Subjects, actor audit.Event) ([]Ticket, error) {
	if p.SubjectKind != "finding" && p.SubjectKind != "vulnerability" {
		return nil, invalid([]string{fmt.Sprintf("subject_kind %q: want finding or vulnerability", p.SubjectKind)})
	}
	var it Integration
	if err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		it, err = s.integrationGet(ctx, q, teamID, p.IntegrationID, true)
		return err
	}); err != nil {
		return nil, err
	}
	out := []Ticket{}
	for _, sid := range p.SubjectIDs {
		t, _, err := s.ticketOne(ctx, teamID, it, p.SubjectKind, sid, subjects, actor)
		if err != nil {
			return out, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ticketOne opens a subject's ticket in it, or answers the one it has
// there already (existed true).
func (s *Service) ticketOne(ctx context.Context, teamID string, it Integration, kind, sid string, subjects Subjects, actor audit.Event) (Ticket, bool, error) {
	if existing, err := s.ticketFor(ctx, teamID, it.ID, kind, sid); err == nil {
		return existing, true, nil
	} else if !errors.Is(err, db.ErrNotFound) {
		return Ticket{}, false, err
	}
	subj, err := subjects.Subject(ctx, teamID, kind, sid)
	if err != nil {
		return Ticket{}, false, fmt.Errorf("%s %s: %w", kind, sid, err)
	}
	t, err := s.openTicket(ctx, it, subj)
	if err != nil {
		return Ticket{}, false, err
	}
	now := s.now().UTC()
	t.ID, t.IntegrationID, t.IntegrationKind, t.SubjectKind, t.SubjectID, t.CreatedBy, t.CreatedAt, t.UpdatedAt = id.New(), it.ID, it.Kind, kind, sid, actor.ActorEmail, now, now
	subjectState := SubjectOpen
	if subj.Closed {
		subjectState = SubjectClosed
	}
	if err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO tickets (id, team_id, integration_id, subject_kind, subject_id, ticket_key, url, state, status_name,
			created_by, created_at, updated_at, subject_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)`,
			t.ID, teamID, it.ID, t.SubjectKind, t.SubjectID, t.Key, t.URL, t.State, t.StatusName, t.CreatedBy, now, subjectState)
		return err
	}); err != nil {
		return Ticket{}, false, err
	}
	s.record(ctx, actor, teamID, "tickets.created", kind, sid, map[string]any{"key": t.Key, "integration": it.ID})
	return t, false, nil
}

// ticketColsT reads a ticket as t joined with its integration as i (for
// its kind); ticketFrom is that join.
const (
	ticketColsT = `t.id, t.integration_id, i.kind, t.subject_kind, t.subject_id, t.ticket_key, t.url, t.state, t.status_name, t.created_by,
	t.created_at, t.updated_at, t.sync_error`
	ticketFrom = ` FROM tickets t JOIN ticket_integrations i ON i.id = t.integration_id AND i.team_id = t.team_id`
)

// scanTicket reads ticketColsT, then extra columns into extra.
func scanTicket(row scanner, extra ...any) (Ticket, error) {
	var (
		t                Ticket
		created, updated time.Time
	)
	dest := append([]any{&t.ID, &t.IntegrationID, &t.IntegrationKind, &t.SubjectKind, &t.SubjectID, &t.Key, &t.URL, &t.State, &t.StatusName,
		&t.CreatedBy, &created, &updated, &t.SyncError}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Ticket{}, db.MapError(err)
	}
	t.CreatedAt, t.UpdatedAt = created.UTC(), updated.UTC()
	return t, nil
}

func (s *Service) ticketFor(ctx context.Context, teamID, integrationID, kind, subjectID string) (Ticket, error) {
	var t Ticket
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		t, err = scanTicket(q.QueryRowContext(ctx, `SELECT `+ticketColsT+ticketFrom+` WHERE t.team_id = $1 AND t.integration_id = $2
			AND t.subject_kind = $3 AND t.subject_id = $4`, teamID, integrationID, kind, subjectID))
		return err
	})
	return t, err
}

// TicketList returns the team's tickets for subjects of a kind (all of the
// kind when ids is empty), newest first.
func (s *Service) TicketList(ctx context.Context, teamID, kind string, ids []string) ([]Ticket, error) {
	out := []Ticket{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		query, args := `SELECT `+ticketColsT+ticketFrom+` WHERE t.team_id = $1 AND t.subject_kind = $2`, []any{teamID, kind}
		if len(ids) > 0 {
			in, a := db.AnyOf(s.d.Dialect, "t.subject_id", "text", 3, ids)
			query, args = query+" AND "+in, append(args, a...)
		}
		rows, err := q.QueryContext(ctx, query+` ORDER BY t.created_at DESC, t.id LIMIT 1000`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTicket(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// ticketSync records a ticket's state the ticket system reported, and
// closes its subject when it became done and the integration says so.
func (s *Service) ticketSync(ctx context.Context, teamID string, it Integration, key, state, statusName string, subjects Subjects) error {
	var changed, all []Ticket
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		all, err = ticketsByKey(ctx, q, teamID, it.ID, key)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, t := range all {
			if t.State == state && t.StatusName == statusName {
				continue
			}
			if _, err := q.ExecContext(ctx, `UPDATE tickets SET state = $1, status_name = $2, updated_at = $3 WHERE team_id = $4 AND id = $5`,
				state, statusName, now, teamID, t.ID); err != nil {
				return err
			}
			if t.State != TicketDone && state == TicketDone {
				changed = append(changed, t)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range changed {
		s.record(ctx, audit.Event{ActorEmail: it.Kind + " webhook"}, teamID, "tickets.done", t.SubjectKind, t.SubjectID, map[string]any{"key": key})
		if it.CloseOnDone && subjects != nil {
			errs = append(errs, subjects.Close(ctx, teamID, t.SubjectKind, t.SubjectID, fmt.Sprintf("ticket %s is done (%s)", key, statusName)))
		}
	}
	// What the webhook did (and did to the subjects) is synced as it
	// stands: the platform's half of the sync must not send it back.
	errs = append(errs, s.settleSubjects(ctx, subjects, teamID, all))
	return errors.Join(errs...)
}

// ticketsByKey reads the tickets of one key (one per subject sent to it).
func ticketsByKey(ctx context.Context, q db.Querier, teamID, integrationID, key string) ([]Ticket, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+ticketColsT+ticketFrom+` WHERE t.team_id = $1 AND t.integration_id = $2 AND t.ticket_key = $3`,
		teamID, integrationID, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		all = append(all, t)
	}
	return all, rows.Err()
}

// integrationByID finds an integration from a webhook, whichever team it is
// of: the webhook's secret then proves the caller may speak for it.
func (s *Service) integrationByID(ctx context.Context, integrationID string) (string, Integration, error) {
	var teamID string
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		return db.MapError(q.QueryRowContext(ctx, `SELECT team_id FROM ticket_integrations WHERE id = $1`, integrationID).Scan(&teamID))
	})
	if err != nil {
		return "", Integration{}, err
	}
	var it Integration
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		it, err = s.integrationGet(ctx, q, teamID, integrationID, true)
		return err
	})
	return teamID, it, err
}

// ResealTx seals every notification channel secret and ticket credential
// again under to (cspm secrets rotate-key), in q, the caller's system
// transaction on the platform database; it returns how many it resealed.
func ResealTx(ctx context.Context, q db.Querier, from, to *secrets.Box) (int, error) {
	n, err := secrets.Reseal(ctx, q, "notify_rules", "id", "channel_secret", sealContext, from, to)
	if err != nil {
		return n, fmt.Errorf("notification channels: %w", err)
	}
	m, err := secrets.Reseal(ctx, q, "ticket_integrations", "id", "token", tokenContext, from, to)
	if err != nil {
		return n + m, fmt.Errorf("ticket tokens: %w", err)
	}
	k, err := secrets.Reseal(ctx, q, "ticket_integrations", "id", "webhook_secret", webhookContext, from, to)
	if err != nil {
		return n + m + k, fmt.Errorf("ticket webhook secrets: %w", err)
	}
	return n + m + k, nil
}
