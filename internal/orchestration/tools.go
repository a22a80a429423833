package orchestration

import (
	"context"
	"fmt"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/scanner"
)

// ToolReportEvery is how often a worker writes what it found of the
// scanners; a report older than ToolReportStale is a worker that is gone.
const (
	ToolReportEvery = time.Minute
	ToolReportStale = 3 * ToolReportEvery
)

// ReportTools records what this worker process finds of the scanners
// (scanner.Locate for each), for the API processes that run no workers.
// Reports of workers silent for an hour are removed.
func (s *Service) ReportTools(ctx context.Context) error {
	now := s.now().UTC()
	return s.d.AsSystem(ctx, func(q db.Querier) error {
		for _, t := range scanner.AllTools {
			st := scanner.Locate(s.Tools, t)
			if _, err := q.ExecContext(ctx, `INSERT INTO worker_tools (worker_id, tool, found, problem, reported_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (worker_id, tool) DO UPDATE SET found = excluded.found, problem = excluded.problem, reported_at = excluded.reported_at`,
				s.WorkerID, t, st.Found, st.Problem, now); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, "DELETE FROM worker_tools WHERE reported_at < $1", now.Add(-time.Hour))
		return err
	})
}

// workerTools reads, per tool, whether any worker that reported within
// ToolReportStale found it, and how many workers reported.
func (s *Service) workerTools(ctx context.Context) (found map[string]bool, workers int, err error) {
	found = map[string]bool{}
	seen := map[string]bool{}
	// The pool of readers, not a transaction: a scan is planned inside the
	// orchestration write transaction that records it, and no code opens a
	// second one of the same database (docs/architecture.md).
	rows, err := s.d.Reader().QueryContext(ctx, "SELECT worker_id, tool, found FROM worker_tools WHERE reported_at >= $1",
		s.now().UTC().Add(-ToolReportStale))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			worker, tool string
			ok           bool
		)
		if err := rows.Scan(&worker, &tool, &ok); err != nil {
			return nil, 0, err
		}
		seen[worker] = true
		found[tool] = found[tool] || ok
	}
	err = rows.Err()
	return found, len(seen), err
}

// checkTools refuses tools the scan's workers do not have: this process's
// own when it runs the workers; otherwise those the workers reported
// lately. With no recent report (no worker up, or workers of an older
// version) the scan is queued unchecked, and the log says so once.
func (s *Service) checkTools(ctx context.Context, tools []string) error {
	if s.CheckTools {
		for _, t := range tools {
			if st := scanner.Locate(s.Tools, t); !st.Found {
				return &ToolMissingError{Tool: st}
			}
		}
		return nil
	}
	found, workers, err := s.workerTools(ctx)
	if err != nil {
		return err
	}
	if workers == 0 {
		s.warnOnce.Do(func() {
			if s.Logger != nil {
				s.Logger.Warn("this process runs no workers and no worker reported its scanners lately: scans are queued without " +
					"checking that the workers have their tools; run 'cspm doctor' on each worker machine")
			}
		})
		return nil
	}
	for _, t := range tools {
		if !found[t] {
			info := scanner.InfoFor(t)
			return &ToolMissingError{Tool: scanner.ToolStatus{Name: t, Label: info.Label, Executable: info.Executable, Setting: info.Setting,
				Env: info.Env, Install: info.Install, ScanTypes: info.ScanTypes,
				Problem: fmt.Sprintf("none of the %d workers that reported in the last %s has it", workers, ToolReportStale)}}
		}
	}
	return nil
}

// WorkerReports returns what each worker that reported within
// ToolReportStale found of the scanners, by worker ID and tool name.
func (s *Service) WorkerReports(ctx context.Context) ([]scanner.WorkerReport, error) {
	rows, err := s.d.Reader().QueryContext(ctx, `SELECT worker_id, tool, found, problem, reported_at FROM worker_tools
		WHERE reported_at >= $1 ORDER BY worker_id, tool`, s.now().UTC().Add(-ToolReportStale))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []scanner.WorkerReport{}
	for rows.Next() {
		var (
			worker string
			t      scanner.WorkerTool
			at     db.Time
		)
		if err := rows.Scan(&worker, &t.Name, &t.Found, &t.Problem, &at); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].WorkerID != worker {
			out = append(out, scanner.WorkerReport{WorkerID: worker})
		}
		w := &out[len(out)-1]
		w.Tools = append(w.Tools, t)
		if at.After(w.ReportedAt) {
			w.ReportedAt = at.UTC()
		}
	}
	return out, rows.Err()
}
