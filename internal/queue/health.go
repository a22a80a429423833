package queue

import (
	"context"
	"database/sql"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Health is what an operator needs to know about the queue at a glance.
type Health struct {
	Reachable bool             `json:"reachable" doc:"Whether River's tables answered."`
	Error     string           `json:"error,omitempty" doc:"Why the queue is not reachable."`
	Jobs      map[string]int64 `json:"jobs" doc:"Number of jobs by River state (available, running, retryable, completed, discarded, cancelled, scheduled, pending)."`
	// OldestAvailableSeconds grows when workers are missing or saturated.
	OldestAvailableSeconds float64 `json:"oldest_available_seconds" doc:"Age of the oldest job waiting for a worker; grows when workers are missing or saturated."`
	Leader                 string  `json:"leader,omitempty" doc:"ID of the process currently elected River leader (it runs periodic jobs and maintenance)."`
}

// CheckHealth reads River's tables directly: it works from a process that has
// no workers, and it tells a missing table from an empty queue.
func CheckHealth(ctx context.Context, reg *db.Registry) Health {
	d := reg.Get(db.Orchestration)
	h := Health{Jobs: map[string]int64{}}
	rows, err := d.Reader().QueryContext(ctx, "SELECT state, count(*) FROM river_job GROUP BY state")
	if err != nil {
		h.Error = err.Error()
		return h
	}
	defer rows.Close()
	for rows.Next() {
		var (
			state string
			n     int64
		)
		if err := rows.Scan(&state, &n); err != nil {
			h.Error = err.Error()
			return h
		}
		h.Jobs[state] = n
	}
	if err := rows.Err(); err != nil {
		h.Error = err.Error()
		return h
	}
	h.Reachable = true

	// scheduled_at is stored as text on SQLite and timestamptz on PostgreSQL;
	// scanning into a string first keeps one query for both.
	var oldest sql.NullString
	if err := d.Reader().QueryRowContext(ctx,
		"SELECT min(scheduled_at) FROM river_job WHERE state = 'available'").Scan(&oldest); err == nil && oldest.Valid {
		if t, ok := db.ParseTime(oldest.String); ok {
			h.OldestAvailableSeconds = time.Since(t).Seconds()
		}
	}
	var leader sql.NullString
	if err := d.Reader().QueryRowContext(ctx,
		"SELECT leader_id FROM river_leader").Scan(&leader); err == nil {
		h.Leader = leader.String
	}
	return h
}
