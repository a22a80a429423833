package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// EventArgs is the notify_event job: route one event to the team's rules.
type EventArgs struct {
	Event Event `json:"event"`
}

// Kind names the job.
func (EventArgs) Kind() string { return "notify_event" }

// EventWorker works EventArgs.
type EventWorker struct {
	river.WorkerDefaults[EventArgs]
	// Service is called through a function: workers are registered before
	// the service is built.
	Service func() *Service
}

// Work routes the event; an error retries it, and routing twice is harmless.
func (w *EventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	_, err := w.Service().route(ctx, job.Args.Event)
	return err
}

// DeliverArgs is the notify_deliver job: send one delivery.
type DeliverArgs struct {
	TeamID     string `json:"team_id" river:"unique"`
	DeliveryID string `json:"delivery_id" river:"unique"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "notify_deliver" }

// DeliverWorker works DeliverArgs.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	Service func() *Service
}

// Work sends the delivery; a failure that may pass is retried with backoff
// until the job's last attempt, which marks the delivery failed.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.Service().deliver(ctx, job.Args.TeamID, job.Args.DeliveryID, job.Attempt >= job.MaxAttempts)
}

// NextRetry doubles the wait after each failed attempt, from RetryBase up
// to an hour.
func (w *DeliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	s := w.Service()
	wait := s.opts.RetryBase
	for i := 1; i < job.Attempt && wait < time.Hour; i++ {
		wait *= 2
	}
	return s.now().Add(min(wait, time.Hour))
}

// Timeout bounds one attempt.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 2 * time.Minute }

// DigestArgs is the periodic notify_digest job: send the digests that are
// due, and queue again deliveries a dead process left pending.
type DigestArgs struct{}

// Kind names the job.
func (DigestArgs) Kind() string { return "notify_digest" }

// DigestEvery is how often the job runs.
const DigestEvery = 5 * time.Minute

// DigestWorker works DigestArgs.
type DigestWorker struct {
	river.WorkerDefaults[DigestArgs]
	Service func() *Service
}

// Work sends due digests and sweeps stale pending deliveries.
func (w *DigestWorker) Work(ctx context.Context, _ *river.Job[DigestArgs]) error {
	s := w.Service()
	n, err := s.Digest(ctx)
	if n > 0 {
		s.logger.Info("notification digests queued", "count", n)
	}
	m, serr := s.Sweep(ctx, 10*time.Minute)
	if m > 0 {
		s.logger.Info("pending notifications queued again", "count", m)
	}
	return errors.Join(err, serr)
}

// digestPayload is a digest delivery's stored content.
type digestPayload struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Events []Event   `json:"events"`
}

type digestRule struct {
	id, teamID, mode string
	since            time.Time
}

// Digest builds and queues a digest for every digest rule whose window has
// passed and that has events waiting; it returns how many it queued.
func (s *Service) Digest(ctx context.Context) (int, error) {
	var due []digestRule
	now := s.now().UTC()
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, team_id, digest, last_digest_at, created_at FROM notify_rules
			WHERE digest <> '' AND enabled = $1`, true)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r       digestRule
				last    sql.NullTime
				created time.Time
			)
			if err := rows.Scan(&r.id, &r.teamID, &r.mode, &last, &created); err != nil {
				return err
			}
			r.since = created
			if last.Valid {
				r.since = last.Time
			}
			if !now.Before(r.since.Add(digestEvery(r.mode))) {
				due = append(due, r)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, r := range due {
		did, err := s.digestRule(ctx, r, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if did != "" {
			if err := s.enqueue(ctx, r.teamID, []string{did}); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// digestRule gathers a rule's waiting events into one digest delivery and
// starts its next window; "" when nothing waited.
func (s *Service) digestRule(ctx context.Context, r digestRule, now time.Time) (string, error) {
	var digestID string
	err := s.d.InTeam(ctx, r.teamID, func(q db.Querier) error {
		p := digestPayload{From: r.since.UTC(), To: now}
		ids, events, err := queuedForDigest(ctx, q, r)
		if err != nil {
			return err
		}
		p.Events = events
		if _, err := q.ExecContext(ctx, `UPDATE notify_rules SET last_digest_at = $1 WHERE team_id = $2 AND id = $3`, now, r.teamID, r.id); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		digestID = id.New()
		if _, err := q.ExecContext(ctx, `INSERT INTO notify_deliveries (id, team_id, rule_id, event_id, event_type, kind, payload, status,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
			digestID, r.teamID, r.id, "digest:"+digestID, kindDigest, kindDigest, string(body), StatusPending, now); err != nil {
			return err
		}
		in, args := db.AnyOf(s.d.Dialect, "id", "text", 5, ids)
		_, err = q.ExecContext(ctx, `UPDATE notify_deliveries SET status = $1, digest_id = $2, updated_at = $3 WHERE team_id = $4 AND `+in,
			append([]any{StatusInDigest, digestID, now, r.teamID}, args...)...)
		return err
	})
	return digestID, err
}

// queuedForDigest reads a rule's events waiting for its digest, oldest first.
func queuedForDigest(ctx context.Context, q db.Querier, r digestRule) ([]string, []Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, payload FROM notify_deliveries WHERE team_id = $1 AND rule_id = $2 AND status = $3
		ORDER BY created_at, id LIMIT 500`, r.teamID, r.id, StatusQueuedForDigest)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		ids    []string
		events []Event
	)
	for rows.Next() {
		var (
			did, payload string
			ev           Event
		)
		if err := rows.Scan(&did, &payload); err != nil {
			return nil, nil, err
		}
		if json.Unmarshal([]byte(payload), &ev) == nil {
			ids, events = append(ids, did), append(events, ev)
		}
	}
	return ids, events, rows.Err()
}

// Sweep queues again the deliveries left pending longer than olderThan (a
// process died between writing them and queueing their jobs); a delivery
// whose job is still queued or retrying is not queued twice.
func (s *Service) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	type pending struct{ id, teamID string }
	var all []pending
	cutoff := s.now().UTC().Add(-olderThan)
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, team_id FROM notify_deliveries WHERE status = $1 AND kind <> $2 AND updated_at < $3
			ORDER BY updated_at LIMIT 1000`, StatusPending, kindTest, cutoff)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.teamID); err != nil {
				return err
			}
			all = append(all, p)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	for _, p := range all {
		if err := s.enqueue(ctx, p.teamID, []string{p.id}); err != nil {
			return 0, err
		}
	}
	return len(all), nil
}
