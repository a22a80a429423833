// Package notify tells a team where it already works what the platform
// found: rules per team pick events (a new critical or high finding, a new
// KEV vulnerability, a breached SLA, a failed scan, a compliance score that
// dropped, a BIA review overdue), filter them (severity, account, tag, BIA
// tier) and send them to a channel (a signed JSON webhook, Slack or
// Microsoft Teams incoming webhooks, email over SMTP with STARTTLS), one
// message per event or an hourly or daily digest. It also pushes findings
// and vulnerabilities to ticket systems (Jira, GitHub Issues) and follows
// their state back through the webhooks those systems send.
//
// Events reach the package through Publish (or PublishTx, in a transaction
// of the orchestration database, where River's tables are): both enqueue a
// River job, so an event survives a restart of the process that produced
// it. The job writes one delivery row per matching rule (the outbox and the
// delivery log in one) before anything is sent; the delivery jobs retry
// with backoff, and the periodic notify_digest job sends digests and queues
// again what a dead process left pending. docs/notifications.md describes it
// for users and operators.
package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// Event types.
const (
	EventFindingNew       = "finding.new"              // an import or scan opened critical or high findings
	EventVulnKEV          = "vuln.kev"                 // an import or scan opened occurrences of KEV vulnerabilities
	EventSLABreached      = "sla.breached"             // vulnerability occurrences passed their SLA deadline
	EventScanFailed       = "scan.failed"              // a scan run ended failed or partial
	EventComplianceDrop   = "compliance.score_dropped" // a compliance score fell by at least the rule's points
	EventBIAReviewOverdue = "bia.review_overdue"       // a business impact analysis is past its review date
	// EventTest is what the test button of a rule sends.
	EventTest = "test"
)

// EventTypes lists the types a rule may choose.
var EventTypes = []string{EventFindingNew, EventVulnKEV, EventSLABreached, EventScanFailed, EventComplianceDrop, EventBIAReviewOverdue}

// Severities, most severe first, as findings name them.
var Severities = []string{"critical", "high", "medium", "low", "informational"}

// Event is something that happened in a team. Producers fill what they
// know; a rule filtering on a field the event lacks does not match it.
type Event struct {
	// ID is the event's idempotency key: the same event published twice
	// (a retried job) is delivered once per rule.
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	TeamID     string    `json:"team_id"`
	OccurredAt time.Time `json:"occurred_at"`
	Title      string    `json:"title"`
	Summary    string    `json:"summary"`
	// Severity is the highest severity the event concerns.
	Severity   string         `json:"severity,omitempty"`
	Severities map[string]int `json:"counts,omitempty" doc:"How many, by severity."`
	AccountUID string         `json:"account_uid,omitempty"`
	// Tags are the tags of the resources the event concerns, as findings
	// keep them ("key=value" or "key", lowercased): for an import, those of
	// the findings it opened at the event's severities.
	Tags []string `json:"tags,omitempty"`
	Tier int      `json:"tier,omitempty" doc:"BIA tier, 1 most critical."`
	// Drop is how many points a compliance score fell.
	Drop float64 `json:"drop,omitempty"`
	// Path is where the event is seen in the web UI; URL is it made
	// absolute with the platform's public_url.
	Path string         `json:"-"`
	URL  string         `json:"url,omitempty"`
	Data map[string]any `json:"data,omitempty"`
}

// Publisher is what producers of events need: the app gives them the
// Service, and they never import this package's other parts.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// Errors the API maps to 4xx.
var (
	// ErrInvalid: a refused value (422).
	ErrInvalid = errors.New("invalid")
	// ErrUnsafeURL: a URL the server must not fetch (422).
	ErrUnsafeURL = errors.New("refused URL")
)

// Queue is the part of River's client the service uses.
type Queue interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Options are the service's dependencies.
type Options struct {
	Box    *secrets.Box
	Queue  Queue
	Audit  *audit.Log
	Logger *slog.Logger
	Now    func() time.Time
	// PublicURL is the platform's address, for links in messages and tickets.
	PublicURL string
	// AllowInsecure lets channels and ticket systems use http:// and
	// loopback addresses (tests, labs). Link-local and cloud metadata
	// addresses are refused whatever it says.
	AllowInsecure bool
	// RootCAs, when set, are the only CAs trusted for TLS (tests).
	RootCAs *x509.CertPool
	// RetryBase is the wait before the first retry of a delivery; each
	// next one waits twice as long, at most an hour. Default 30 s.
	RetryBase time.Duration
	// MaxAttempts bounds the tries of one delivery. Default 6.
	MaxAttempts int
	// Timeout bounds one HTTP or SMTP exchange. Default 15 s.
	Timeout time.Duration
	// Subjects describes findings and vulnerabilities for tickets and
	// closes them when the team says a done ticket does.
	Subjects Subjects
}

// Service keeps notification rules, delivers events and pushes tickets.
type Service struct {
	d      *db.DB
	box    *secrets.Box
	queue  Queue
	audit  *audit.Log
	logger *slog.Logger
	now    func() time.Time
	opts   Options
	guard  Guard
	http   *http.Client
}

// New returns the service on reg's platform database.
func New(reg *db.Registry, o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	g := Guard{AllowInsecure: o.AllowInsecure}
	return &Service{d: reg.Get(db.Platform), box: o.Box, queue: o.Queue, audit: o.Audit, logger: o.Logger, now: o.Now, opts: o,
		guard: g, http: g.Client(o.Timeout, &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12})}
}

// Publish queues ev for delivery. The caller must not hold a write
// transaction of another database (docs/architecture.md); in one of the
// orchestration database, use PublishTx.
func (s *Service) Publish(ctx context.Context, ev Event) error {
	ev, err := s.prepare(ev)
	if err != nil {
		return err
	}
	_, err = s.queue.Insert(ctx, EventArgs{Event: ev}, nil)
	return err
}

// PublishTx queues ev in tx, a transaction of the orchestration database:
// the event exists exactly when what caused it commits.
func (s *Service) PublishTx(ctx context.Context, tx *sql.Tx, ev Event) error {
	ev, err := s.prepare(ev)
	if err != nil {
		return err
	}
	_, err = s.queue.InsertTx(ctx, tx, EventArgs{Event: ev}, nil)
	return err
}

func (s *Service) prepare(ev Event) (Event, error) {
	if ev.TeamID == "" {
		return ev, fmt.Errorf("%w: event without a team", ErrInvalid)
	}
	if !slices.Contains(EventTypes, ev.Type) {
		return ev, fmt.Errorf("%w: unknown event type %q", ErrInvalid, ev.Type)
	}
	if ev.ID == "" {
		return ev, fmt.Errorf("%w: event without an ID", ErrInvalid)
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = s.now().UTC()
	}
	if ev.URL == "" && ev.Path != "" && s.opts.PublicURL != "" {
		ev.URL = s.opts.PublicURL + ev.Path
	}
	return ev, nil
}

// record writes an audit event when the service has a log.
func (s *Service) record(ctx context.Context, actor audit.Event, teamID, action, targetType, targetID string, details map[string]any) {
	if s.audit == nil {
		return
	}
	e := actor
	e.TeamID, e.Action, e.TargetType, e.TargetID, e.Details = teamID, action, targetType, targetID, details
	if err := s.audit.Record(ctx, e); err != nil {
		s.logger.Warn("audit of an integration change failed", "action", action, "err", err)
	}
}

// SeverityRank orders severities, 0 for critical; unknown ones last.
func SeverityRank(sev string) int {
	if i := slices.Index(Severities, strings.ToLower(sev)); i >= 0 {
		return i
	}
	return len(Severities)
}
