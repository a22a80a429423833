package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/db"
)

// ProbeArgs is a job that only records which worker worked it. `cspm queue
// probe` enqueues a batch of them to prove, on a live install, that workers
// take jobs from the queue, how fast, and how the work spreads across them.
type ProbeArgs struct {
	// HoldMillis keeps the job busy for a while so that work visibly spreads
	// across workers; capped at MaxProbeHold.
	HoldMillis int `json:"hold_ms"`
}

// Kind implements river.JobArgs.
func (ProbeArgs) Kind() string { return "queue_probe" }

// MaxProbeHold caps how long one probe may hold a worker slot.
const MaxProbeHold = 5 * time.Second

// ProbeWorker works ProbeArgs.
type ProbeWorker struct {
	river.WorkerDefaults[ProbeArgs]
	Registry *db.Registry
}

// Work records the job in queue_probes. The row's primary key is the job ID,
// so a job worked twice would fail its second time instead of passing unseen.
func (w *ProbeWorker) Work(ctx context.Context, job *river.Job[ProbeArgs]) error {
	hold := min(time.Duration(job.Args.HoldMillis)*time.Millisecond, MaxProbeHold)
	if hold > 0 {
		select {
		case <-time.After(hold):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	worker := "unknown"
	if c, err := river.ClientFromContextSafely[*sql.Tx](ctx); err == nil {
		worker = c.ID()
	}
	_, err := w.Registry.Get(db.Orchestration).ExecContext(ctx,
		"INSERT INTO queue_probes (job_id, worker_id, completed_at) VALUES ($1, $2, $3)",
		job.ID, worker, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("record probe: %w", err)
	}
	return nil
}

// ProbeResult summarises probes by worker.
type ProbeResult struct {
	JobIDs   []int64
	ByWorker map[string]int
	Pending  int
}

// ProbeStatus reports which of the given probe jobs have been worked, and by whom.
func ProbeStatus(ctx context.Context, reg *db.Registry, jobIDs []int64) (ProbeResult, error) {
	res := ProbeResult{JobIDs: jobIDs, ByWorker: map[string]int{}}
	d := reg.Get(db.Orchestration)
	seen := 0
	const batch = 500
	for start := 0; start < len(jobIDs); start += batch {
		end := min(start+batch, len(jobIDs))
		args := make([]any, 0, end-start)
		ph := ""
		for i, id := range jobIDs[start:end] {
			if i > 0 {
				ph += ","
			}
			ph += fmt.Sprintf("$%d", i+1)
			args = append(args, id)
		}
		n, err := countProbes(ctx, d, ph, args, res.ByWorker)
		if err != nil {
			return res, err
		}
		seen += n
	}
	res.Pending = len(jobIDs) - seen
	return res, nil
}

// countProbes adds the probes among one batch of job IDs to byWorker.
func countProbes(ctx context.Context, d *db.DB, placeholders string, args []any, byWorker map[string]int) (int, error) {
	rows, err := d.Reader().QueryContext(ctx,
		"SELECT worker_id, count(*) FROM queue_probes WHERE job_id IN ("+placeholders+") GROUP BY worker_id", args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var (
			w string
			n int
		)
		if err := rows.Scan(&w, &n); err != nil {
			return 0, err
		}
		byWorker[w] += n
		seen += n
	}
	return seen, rows.Err()
}
