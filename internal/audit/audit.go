// Package audit is the append-only audit log. Every sensitive action of every
// service goes through Record; nothing in the API edits or deletes an event,
// and the database refuses to (triggers on both engines).
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Outcome says whether the audited action succeeded.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Denied  Outcome = "denied"
)

// Event is one entry of the audit log.
type Event struct {
	ID         int64          `json:"id"`
	TeamID     string         `json:"team_id"`
	OccurredAt time.Time      `json:"occurred_at"`
	ActorID    string         `json:"actor_id"`
	ActorEmail string         `json:"actor_email"`
	Action     string         `json:"action" doc:"What happened, such as auth.login or user.role_changed."`
	Outcome    Outcome        `json:"outcome" enum:"success,failure,denied"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	IP         string         `json:"ip"`
	UserAgent  string         `json:"user_agent"`
	RequestID  string         `json:"request_id"`
	Details    map[string]any `json:"details"`
}

// Request carries who and where of the HTTP request an event comes from; the
// HTTP layer puts it in the context so that services need not pass it along.
type Request struct {
	IP, UserAgent, RequestID string
}

type reqKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, reqKey{}, r)
}

// Log records and lists events.
type Log struct {
	d      *db.DB
	logger *slog.Logger
}

// New returns the audit log on reg's platform database.
func New(reg *db.Registry, logger *slog.Logger) *Log {
	return &Log{d: reg.Get(db.Platform), logger: logger}
}

// Record appends e, filling time and request fields. An audit write that
// fails is logged at error level and returned: callers of security-relevant
// actions decide whether to go on without their evidence.
func (l *Log) Record(ctx context.Context, e Event) error {
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now().UTC()
	}
	if r, ok := ctx.Value(reqKey{}).(Request); ok {
		e.IP, e.UserAgent, e.RequestID = r.IP, truncate(r.UserAgent, 256), r.RequestID
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return fmt.Errorf("audit details: %w", err)
		}
	}
	const q = `INSERT INTO audit_log (team_id, occurred_at, actor_id, actor_email, action, outcome,
		target_type, target_id, ip, user_agent, request_id, details) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`
	args := []any{e.TeamID, e.OccurredAt, e.ActorID, e.ActorEmail, e.Action, string(e.Outcome),
		e.TargetType, e.TargetID, e.IP, e.UserAgent, e.RequestID, string(details)}
	var err error
	if e.TeamID == "" {
		err = l.d.AsSystem(ctx, func(q2 db.Querier) error { _, err := q2.ExecContext(ctx, q, args...); return err })
	} else {
		err = l.d.InTeam(ctx, e.TeamID, func(q2 db.Querier) error { _, err := q2.ExecContext(ctx, q, args...); return err })
	}
	if err != nil {
		l.logger.Error("audit record failed", "action", e.Action, "team_id", e.TeamID, "err", err)
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ListParams filters the log. Results are newest first; pass the last ID seen
// as Before to page.
type ListParams struct {
	TeamID  string
	Action  string // exact action, or a prefix ending in "." such as "auth."
	ActorID string
	Outcome Outcome
	Since   time.Time
	Until   time.Time
	Before  int64
	Limit   int
}

// EventList returns a page of one team's events.
func (l *Log) EventList(ctx context.Context, p ListParams) ([]Event, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 100
	}
	where := []string{"team_id = $1"}
	args := []any{p.TeamID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if p.Action != "" {
		if strings.HasSuffix(p.Action, ".") {
			add(`action LIKE $%d ESCAPE '\'`, escapeLike(p.Action)+"%")
		} else {
			add("action = $%d", p.Action)
		}
	}
	if p.ActorID != "" {
		add("actor_id = $%d", p.ActorID)
	}
	if p.Outcome != "" {
		add("outcome = $%d", string(p.Outcome))
	}
	if !p.Since.IsZero() {
		add("occurred_at >= $%d", p.Since.UTC())
	}
	if !p.Until.IsZero() {
		add("occurred_at < $%d", p.Until.UTC())
	}
	if p.Before > 0 {
		add("id < $%d", p.Before)
	}
	args = append(args, p.Limit)
	query := fmt.Sprintf(`SELECT id, team_id, occurred_at, actor_id, actor_email, action, outcome, target_type,
		target_id, ip, user_agent, request_id, details FROM audit_log WHERE %s ORDER BY id DESC LIMIT $%d`,
		strings.Join(where, " AND "), len(args))
	out := []Event{}
	err := l.d.ReadInTeam(ctx, p.TeamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e       Event
				outcome string
				details string
			)
			if err := rows.Scan(&e.ID, &e.TeamID, &e.OccurredAt, &e.ActorID, &e.ActorEmail, &e.Action, &outcome,
				&e.TargetType, &e.TargetID, &e.IP, &e.UserAgent, &e.RequestID, &details); err != nil {
				return err
			}
			e.Outcome = Outcome(outcome)
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				e.Details = map[string]any{"unparsed": details}
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// RequestFrom returns the request details WithRequest stored, if any.
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(reqKey{}).(Request)
	return r
}
