package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Delivery kinds.
const (
	kindEvent  = "event"
	kindDigest = "digest"
	kindTest   = "test"
)

// Delivery statuses.
const (
	StatusPending         = "pending"           // to be sent, or being retried
	StatusQueuedForDigest = "queued_for_digest" // waits for the rule's next digest
	StatusInDigest        = "in_digest"         // sent (or being sent) in digest_id
	StatusDelivered       = "delivered"
	StatusFailed          = "failed" // gave up: a permanent error, or every attempt failed
)

// Delivery is one row of a rule's delivery log.
type Delivery struct {
	ID          string     `json:"id"`
	RuleID      string     `json:"rule_id"`
	EventID     string     `json:"event_id"`
	EventType   string     `json:"event_type"`
	Kind        string     `json:"kind" enum:"event,digest,test"`
	Title       string     `json:"title"`
	Status      string     `json:"status" enum:"pending,queued_for_digest,in_digest,delivered,failed"`
	DigestID    string     `json:"digest_id,omitempty"`
	Attempts    int        `json:"attempts"`
	StatusCode  int        `json:"status_code" doc:"The receiver's last HTTP status; 0 for email or when none answered."`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`

	payload string
}

// route writes a delivery for every enabled rule of the team that matches
// ev, then queues the ones to send now. Run twice for one event (a retried
// job), it writes nothing new and queues what is still pending.
func (s *Service) route(ctx context.Context, ev Event) (int, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	var pending []string
	err = s.d.InTeam(ctx, ev.TeamID, func(q db.Querier) error {
		rules, err := s.rulesFor(ctx, q, ev.TeamID, ev.Type)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, r := range rules {
			if !r.Filters.Match(ev) {
				continue
			}
			status := StatusPending
			if r.Digest != DigestNone {
				status = StatusQueuedForDigest
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO notify_deliveries (id, team_id, rule_id, event_id, event_type, kind, payload, status,
				created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (rule_id, event_id) DO NOTHING`,
				id.New(), ev.TeamID, r.ID, ev.ID, ev.Type, kindEvent, string(payload), status, now); err != nil {
				return err
			}
		}
		pending, err = db.QueryStrings(ctx, q, `SELECT id FROM notify_deliveries WHERE team_id = $1 AND event_id = $2 AND status = $3`,
			ev.TeamID, ev.ID, StatusPending)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(pending), s.enqueue(ctx, ev.TeamID, pending)
}

// enqueue queues a delivery job for each ID; a job already queued for one
// (or completed) is not queued twice.
func (s *Service) enqueue(ctx context.Context, teamID string, ids []string) error {
	for _, did := range ids {
		if _, err := s.queue.Insert(ctx, DeliverArgs{TeamID: teamID, DeliveryID: did}, &river.InsertOpts{MaxAttempts: s.opts.MaxAttempts,
			UniqueOpts: river.UniqueOpts{ByArgs: true}}); err != nil {
			return fmt.Errorf("queue delivery %s: %w", did, err)
		}
	}
	return nil
}

// deliver sends one delivery and writes the outcome to the log. final says
// this is the job's last attempt: a failure then ends the delivery. The
// error asks River for another attempt; nil means done (delivered, or given
// up for good).
func (s *Service) deliver(ctx context.Context, teamID, deliveryID string, final bool) error {
	var (
		d Delivery
		r Rule
	)
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		if d, err = deliveryGet(ctx, q, teamID, deliveryID); err != nil {
			return err
		}
		r, err = s.ruleGet(ctx, q, teamID, d.RuleID, true)
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return nil // the rule was deleted since, and its log with it
	}
	if err != nil {
		return err
	}
	if d.Status != StatusPending {
		return nil // already sent: a job run twice
	}
	m, err := d.message(r)
	if err != nil {
		return s.finishDelivery(ctx, teamID, d, 0, err, true)
	}
	code, sendErr := s.send(ctx, m)
	var se *sendError
	permanent := errors.As(sendErr, &se) && se.permanent
	if err := s.finishDelivery(ctx, teamID, d, code, sendErr, final || permanent); err != nil {
		return err
	}
	if sendErr != nil && !final && !permanent {
		return sendErr
	}
	return nil
}

// message rebuilds what a delivery sends from its stored payload.
func (d Delivery) message(r Rule) (message, error) {
	m := message{DeliveryID: d.ID, Rule: r, Kind: d.Kind}
	switch d.Kind {
	case kindDigest:
		var p digestPayload
		if err := json.Unmarshal([]byte(d.payload), &p); err != nil {
			return m, fmt.Errorf("digest payload: %w", err)
		}
		m.Events, m.From, m.To = p.Events, p.From, p.To
	default:
		var ev Event
		if err := json.Unmarshal([]byte(d.payload), &ev); err != nil {
			return m, fmt.Errorf("event payload: %w", err)
		}
		m.Events = []Event{ev}
	}
	return m, nil
}

// finishDelivery records an attempt: delivered, failed for good (done),
// or still pending for River's next attempt.
func (s *Service) finishDelivery(ctx context.Context, teamID string, d Delivery, code int, sendErr error, done bool) error {
	now := s.now().UTC()
	status, msg := StatusDelivered, ""
	var deliveredAt any
	switch {
	case sendErr == nil:
		deliveredAt = now
	case done:
		status, msg = StatusFailed, sendErr.Error()
	default:
		status, msg = StatusPending, sendErr.Error()
	}
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE notify_deliveries SET status = $1, attempts = attempts + 1, status_code = $2, last_error = $3,
			updated_at = $4, delivered_at = $5 WHERE team_id = $6 AND id = $7`, status, code, msg, now, deliveredAt, teamID, d.ID); err != nil {
			return err
		}
		if d.Kind == kindDigest && status == StatusFailed {
			// The events go back to wait for the next digest.
			_, err := q.ExecContext(ctx, `UPDATE notify_deliveries SET status = $1, digest_id = '', updated_at = $2
				WHERE team_id = $3 AND digest_id = $4`, StatusQueuedForDigest, now, teamID, d.ID)
			return err
		}
		if d.Kind == kindDigest && status == StatusDelivered {
			_, err := q.ExecContext(ctx, `UPDATE notify_deliveries SET status = $1, delivered_at = $2, updated_at = $2
				WHERE team_id = $3 AND digest_id = $4`, StatusDelivered, now, teamID, d.ID)
			return err
		}
		return nil
	})
}

const deliveryCols = `id, rule_id, event_id, event_type, kind, payload, status, digest_id, attempts, status_code, last_error, created_at, updated_at, delivered_at`

func scanDelivery(row scanner) (Delivery, error) {
	var (
		d                Delivery
		created, updated time.Time
		delivered        sql.NullTime
	)
	if err := row.Scan(&d.ID, &d.RuleID, &d.EventID, &d.EventType, &d.Kind, &d.payload, &d.Status, &d.DigestID, &d.Attempts, &d.StatusCode,
		&d.LastError, &created, &updated, &delivered); err != nil {
		return Delivery{}, db.MapError(err)
	}
	d.CreatedAt, d.UpdatedAt = created.UTC(), updated.UTC()
	if delivered.Valid {
		t := delivered.Time.UTC()
		d.DeliveredAt = &t
	}
	switch d.Kind {
	case kindDigest:
		var p digestPayload
		if json.Unmarshal([]byte(d.payload), &p) == nil {
			d.Title = fmt.Sprintf("Digest of %d events", len(p.Events))
		}
	default:
		var ev Event
		if json.Unmarshal([]byte(d.payload), &ev) == nil {
			d.Title = ev.Title
		}
	}
	return d, nil
}

func deliveryGet(ctx context.Context, q db.Querier, teamID, deliveryID string) (Delivery, error) {
	return scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM notify_deliveries WHERE team_id = $1 AND id = $2`, teamID, deliveryID))
}

// DeliveryList returns a rule's latest deliveries, newest first.
func (s *Service) DeliveryList(ctx context.Context, teamID, ruleID string, limit int) ([]Delivery, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	out := []Delivery{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := s.ruleGet(ctx, q, teamID, ruleID, false); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT `+deliveryCols+` FROM notify_deliveries WHERE team_id = $1 AND rule_id = $2
			ORDER BY created_at DESC, id DESC LIMIT $3`, teamID, ruleID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// RuleTest sends a test message on the rule's channel now, and logs it.
func (s *Service) RuleTest(ctx context.Context, teamID, ruleID string) (Delivery, error) {
	var r Rule
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		r, err = s.ruleGet(ctx, q, teamID, ruleID, true)
		return err
	})
	if err != nil {
		return Delivery{}, err
	}
	now := s.now().UTC()
	ev := Event{ID: "test:" + id.New(), Type: EventTest, TeamID: teamID, OccurredAt: now, Title: "Test message from OffloadSecurity CSPM",
		Summary: fmt.Sprintf("Rule %q can reach this channel.", r.Name), Severity: "informational", URL: s.opts.PublicURL}
	payload, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{ID: id.New(), RuleID: r.ID, EventID: ev.ID, EventType: ev.Type, Kind: kindTest, Title: ev.Title, Status: StatusPending,
		CreatedAt: now, UpdatedAt: now, payload: string(payload)}
	if err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO notify_deliveries (id, team_id, rule_id, event_id, event_type, kind, payload, status,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, d.ID, teamID, r.ID, ev.ID, ev.Type, kindTest, d.payload, d.Status, now)
		return err
	}); err != nil {
		return Delivery{}, err
	}
	code, sendErr := s.send(ctx, message{DeliveryID: d.ID, Rule: r, Kind: kindTest, Events: []Event{ev}})
	if err := s.finishDelivery(ctx, teamID, d, code, sendErr, true); err != nil {
		return Delivery{}, err
	}
	return s.deliveryGetRead(ctx, teamID, d.ID)
}

func (s *Service) deliveryGetRead(ctx context.Context, teamID, deliveryID string) (Delivery, error) {
	var d Delivery
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		d, err = deliveryGet(ctx, q, teamID, deliveryID)
		return err
	})
	return d, err
}
