package orchestration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// SubJobArgs names the SubJob a River job works.
type SubJobArgs struct {
	TeamID    string `json:"team_id"`
	ScanRunID string `json:"scan_run_id"`
	SubJobID  string `json:"subjob_id"`
	Tool      string `json:"tool"`
}

// ExecuteCloudScanArgs is the seed's execute_cloud_scan: one tool against
// one region, project or subscription of a cloud account.
type ExecuteCloudScanArgs struct{ SubJobArgs }

// Kind implements river.JobArgs.
func (ExecuteCloudScanArgs) Kind() string { return "execute_cloud_scan" }

// ExecuteScanArgs is execute_cloud_scan's sibling for network, web and
// container targets.
type ExecuteScanArgs struct{ SubJobArgs }

// Kind implements river.JobArgs.
func (ExecuteScanArgs) Kind() string { return "execute_scan" }

func (a SubJobArgs) subJob() SubJobArgs { return a }

// subJobKind is a River job kind that works a SubJob.
type subJobKind interface {
	river.JobArgs
	subJob() SubJobArgs
}

// SubJobWorker works the SubJobs of one job kind; both kinds run the same
// code, River only needs a worker type per kind.
type SubJobWorker[T subJobKind] struct {
	river.WorkerDefaults[T]
	Service *Service
}

// ExecuteCloudScanWorker works execute_cloud_scan jobs.
type ExecuteCloudScanWorker = SubJobWorker[ExecuteCloudScanArgs]

// ExecuteScanWorker works execute_scan jobs.
type ExecuteScanWorker = SubJobWorker[ExecuteScanArgs]

// Timeout leaves room after the tool's own timeout for storing and
// importing its report.
func (w *SubJobWorker[T]) Timeout(*river.Job[T]) time.Duration { return w.Service.jobTimeout() }

// Work runs the SubJob.
func (w *SubJobWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	return w.Service.execute(ctx, job.Args.subJob(), job.Attempt, job.MaxAttempts)
}

// jobTimeout is the tool's timeout plus room to store and import its
// report. River's rescuer also waits this long before it presumes a
// running SubJob's worker dead, so the margin is not larger than it must be.
func (s *Service) jobTimeout() time.Duration {
	return s.Limits.Timeout + max(s.Limits.Timeout/4, 30*time.Second)
}

// errCancelled ends a run whose ScanRun was cancelled.
var errCancelled = errors.New("cancelled")

// execute is the body of both scan workers: run the tool, keep its report
// as an artifact, import it (one part of the ScanRun's findings), and
// record the outcome on the SubJob and its run.
func (s *Service) execute(ctx context.Context, a SubJobArgs, attempt, maxAttempts int) error {
	var (
		run ScanRun
		sj  SubJob
	)
	err := s.d.ReadInTeam(ctx, a.TeamID, func(q db.Querier) error {
		var err error
		if run, err = runGet(ctx, q, a.TeamID, a.ScanRunID); err != nil {
			return err
		}
		sj, err = subJobGet(ctx, q, a.TeamID, a.SubJobID)
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("sub job %s no longer exists", a.SubJobID))
	}
	if err != nil {
		return err
	}
	if Terminal(sj.Status) {
		return nil // already finished (cancelled while queued, or a duplicate delivery)
	}
	if run.Cancelling {
		return s.finish(ctx, sj, StatusCancelled, "cancelled before it started", nil, nil)
	}
	if run.ScanType == "cloud" {
		if waitFor, err := s.earlierActiveRun(ctx, run); err != nil {
			return err
		} else if waitFor != "" {
			s.setWaiting(ctx, run, waitFor)
			return river.JobSnooze(s.Limits.WaitPoll)
		}
	}
	// A worker that died after the import committed: the findings are in;
	// record them instead of importing twice.
	if part, ok, err := s.Findings.ImportPartGet(ctx, a.TeamID, sj.ID); err != nil {
		return err
	} else if ok {
		return s.finish(ctx, sj, StatusCompleted, "", &part, nil)
	}
	if started, err := s.markRunning(ctx, sj, attempt); err != nil || !started {
		return err
	}

	report, cmd, res, runErr := s.runTool(ctx, run, sj)
	defer func() {
		if report != "" {
			_ = os.RemoveAll(filepath.Dir(report))
		}
	}()
	if runErr != nil && !errors.Is(runErr, errCancelled) && shuttingDown(ctx) {
		return s.interrupted(ctx, sj)
	}
	if runErr != nil {
		return s.failed(ctx, sj, attempt, maxAttempts, runErr, res)
	}
	// Keep the report, then import it (from the local copy: no second
	// transfer from S3).
	fh, err := os.Open(report)
	if err != nil {
		return s.failed(ctx, sj, attempt, maxAttempts, err, res)
	}
	defer fh.Close()
	key := fmt.Sprintf("%s/scans/%s/%s-%s%s", a.TeamID, run.ID, sj.ID, sj.Tool, filepath.Ext(report))
	obj, err := s.Artifacts.Put(ctx, key, fh, 0)
	if err != nil {
		if shuttingDown(ctx) {
			return s.interrupted(ctx, sj)
		}
		return s.failed(ctx, sj, attempt, maxAttempts, fmt.Errorf("store the report: %w", err), res)
	}
	if err := s.setArtifact(ctx, sj, obj.Key, obj.Size); err != nil {
		return err
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return s.failed(ctx, sj, attempt, maxAttempts, err, res)
	}
	// What the SubJob scanned is covered even by an empty report (a clean
	// Nuclei run writes nothing): its earlier findings there are resolved.
	// A code scan of a directory covers every lockfile or file under it.
	cover := findings.Coverage{Target: sj.Target, Under: run.ScanType == "code"}
	if run.AccountUID != "" {
		cover = findings.Coverage{AccountUID: run.AccountUID, Region: sj.Region}
	}
	imp, err := s.Findings.Import(ctx, fh, findings.ImportParams{TeamID: a.TeamID, ScanID: run.ID, Part: sj.ID, Format: cmd.Format,
		Filename: filepath.Base(report), ArtifactRef: obj.Key, CreatedBy: run.CreatedBy, Source: "scan",
		Covers: []findings.Coverage{cover}})
	if err != nil && shuttingDown(ctx) {
		return s.interrupted(ctx, sj) // the import rolled back whole
	}
	if err != nil {
		// A report the parser refuses will be refused again.
		return s.failed(ctx, sj, attempt, maxAttempts, fmt.Errorf("%w: %w: import the %s report: %w", scanner.ErrPermanent, scanner.ErrReportRefused, sj.Tool, err), res)
	}
	part, _, err := s.Findings.ImportPartGet(ctx, a.TeamID, sj.ID)
	if err != nil {
		return err
	}
	part.ImportResult = imp
	code := res.ExitCode
	return s.finish(ctx, sj, StatusCompleted, "", &part, &code)
}

// runTool builds the tool's command and runs it in the SubJob's own
// directory, with the heartbeat that also notices a cancelled run.
func (s *Service) runTool(ctx context.Context, run ScanRun, sj SubJob) (string, scanner.Command, scanner.Result, error) {
	job := scanner.Job{Tool: sj.Tool, Region: sj.Region, Target: sj.Target, Ports: run.Ports,
		Name: fmt.Sprintf("%s-%s", sj.Tool, sj.ID)}
	var redact []string
	if run.ScanType == "cloud" {
		acct, creds, err := s.Cloud.CredentialsOpen(ctx, run.TeamID, run.AccountID)
		if err != nil {
			switch {
			case errors.Is(err, db.ErrNotFound):
				err = fmt.Errorf("%w: the cloud account was deleted", scanner.ErrPermanent)
			case errors.Is(err, secrets.ErrOpen):
				// This process has another key than the one that sealed them.
				err = fmt.Errorf("%w: %w", scanner.ErrPermanent, err)
			}
			return "", scanner.Command{}, scanner.Result{}, err
		}
		job.Provider, job.AccountUID, job.Credentials = acct.Provider, acct.AccountUID, creds
		redact = creds.Secrets()
	}
	job.WorkDir = filepath.Join(s.WorkRoot, sj.ID)
	_ = os.RemoveAll(job.WorkDir) // what an earlier, interrupted attempt left
	if err := os.MkdirAll(job.WorkDir, 0o700); err != nil {
		return "", scanner.Command{}, scanner.Result{}, fmt.Errorf("%w: %w: %w", scanner.ErrPermanent, scanner.ErrOutput, err)
	}
	cmd, err := s.Tools.Build(job)
	if err != nil {
		_ = os.RemoveAll(job.WorkDir)
		return "", scanner.Command{}, scanner.Result{}, err
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var cancelled atomic.Bool
	res, err := scanner.Run(rctx, cmd, scanner.RunOptions{Timeout: s.Limits.Timeout, StallTimeout: s.Limits.StallTimeout, Redact: redact,
		TickEvery: heartbeatEvery(s.Limits.StallTimeout),
		Tick: func() {
			if s.heartbeat(ctx, sj) {
				cancelled.Store(true)
				cancel(errCancelled)
			}
		}})
	if cancelled.Load() {
		err = errCancelled
	}
	return cmd.Output, cmd, res, err
}

// shuttingDown reports whether the job's context was cancelled by its
// worker stopping (River cancels with a cause of its own), not by the job's
// own timeout, which is a deadline.
func shuttingDown(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded)
}

// interrupted puts a SubJob that its stopping worker cut short back in the
// queue: River works it again as soon as a worker runs (JobSnooze(0)),
// without counting the attempt against it. A job's context also ends when
// River cancels the job, which cancelling its run does for a SubJob it
// found queued: then the SubJob ends cancelled, as River will not run it
// again.
func (s *Service) interrupted(ctx context.Context, sj SubJob) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var cancelling bool
	if err := s.d.ReadInTeam(ctx, sj.TeamID, func(q db.Querier) (err error) {
		cancelling, err = cancelRequested(ctx, q, sj)
		return err
	}); err != nil {
		return err
	}
	if cancelling {
		return s.finish(ctx, sj, StatusCancelled, "cancelled while running", nil, nil)
	}
	if err := s.inTeam(ctx, sj.TeamID, func(q *txn) error {
		if _, err := q.ExecContext(ctx, "UPDATE sub_jobs SET status = $1, error = $2 WHERE team_id = $3 AND id = $4",
			StatusQueued, "interrupted: the worker stopped; it runs again when a worker is up", sj.TeamID, sj.ID); err != nil {
			return err
		}
		_, err := s.refresh(ctx, q, sj.TeamID, sj.ScanRunID)
		return err
	}); err != nil {
		return err
	}
	return river.JobSnooze(0)
}

func heartbeatEvery(stall time.Duration) time.Duration {
	if stall > 0 && stall < 20*time.Second {
		return max(stall/4, 50*time.Millisecond)
	}
	return 5 * time.Second
}

// heartbeat records that the SubJob is alive and reports whether its run
// was cancelled.
func (s *Service) heartbeat(ctx context.Context, sj SubJob) (cancelled bool) {
	_ = s.d.InTeam(ctx, sj.TeamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, "UPDATE sub_jobs SET heartbeat_at = $1 WHERE team_id = $2 AND id = $3", s.now().UTC(), sj.TeamID, sj.ID); err != nil {
			return err
		}
		var err error
		cancelled, err = cancelRequested(ctx, q, sj)
		return err
	})
	return cancelled
}

// cancelRequested reports whether the SubJob's run was asked to cancel.
func cancelRequested(ctx context.Context, q db.Querier, sj SubJob) (cancelled bool, err error) {
	err = q.QueryRowContext(ctx, "SELECT cancel_requested FROM scan_runs WHERE team_id = $1 AND id = $2", sj.TeamID, sj.ScanRunID).Scan(&cancelled)
	return cancelled, err
}

// earlierActiveRun returns the ID of an earlier, unfinished run of the same
// account: one running ScanRun per account at a time.
func (s *Service) earlierActiveRun(ctx context.Context, run ScanRun) (string, error) {
	var other string
	err := s.d.ReadInTeam(ctx, run.TeamID, func(q db.Querier) error {
		return q.QueryRowContext(ctx, `SELECT id FROM scan_runs WHERE team_id = $1 AND account_id = $2 AND status IN ('queued', 'running')
			AND (created_at < $3 OR (created_at = $3 AND id < $4)) ORDER BY created_at LIMIT 1`,
			run.TeamID, run.AccountID, run.CreatedAt, run.ID).Scan(&other)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return other, err
}

func (s *Service) setWaiting(ctx context.Context, run ScanRun, other string) {
	detail := "waiting for scan " + other + " of the same account to finish"
	if run.StatusDetail == detail {
		return
	}
	_ = s.inTeam(ctx, run.TeamID, func(q *txn) error {
		if _, err := q.ExecContext(ctx, "UPDATE scan_runs SET status_detail = $1 WHERE team_id = $2 AND id = $3", detail, run.TeamID, run.ID); err != nil {
			return err
		}
		_, err := s.refresh(ctx, q, run.TeamID, run.ID)
		return err
	})
}

// markRunning records that the SubJob runs, unless it ended since the job
// read it: a run cancelled between that read and this cancels its queued
// SubJobs, and the cancellation must stand (started is false then).
func (s *Service) markRunning(ctx context.Context, sj SubJob, attempt int) (started bool, err error) {
	err = s.inTeam(ctx, sj.TeamID, func(q *txn) error {
		now := s.now().UTC()
		res, err := q.ExecContext(ctx, `UPDATE sub_jobs SET status = $1, attempts = $2, worker_id = $3, started_at = $4, heartbeat_at = $4,
			finished_at = NULL WHERE team_id = $5 AND id = $6 AND status IN ($7, $8, $9)`,
			StatusRunning, attempt, s.WorkerID, now, sj.TeamID, sj.ID, StatusQueued, StatusRetrying, StatusRunning)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		started = true
		_, err = s.refresh(ctx, q, sj.TeamID, sj.ScanRunID)
		return err
	})
	return started, err
}

func (s *Service) setArtifact(ctx context.Context, sj SubJob, key string, size int64) error {
	return s.d.InTeam(ctx, sj.TeamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, "UPDATE sub_jobs SET artifact_ref = $1, artifact_bytes = $2 WHERE team_id = $3 AND id = $4", key, size, sj.TeamID, sj.ID)
		return err
	})
}

// failed records a failed attempt. The failure is classed
// (scanner.Classify, from the error and the tool's standard error):
// permanent ones (a missing executable, a report file that cannot be
// written, a bad target, refused credentials, a report the parser refuses)
// fail the SubJob at once; transient ones (timeouts, DNS and connection
// failures, throttling, server errors) are retried by River with backoff
// until the last attempt. The SubJob's error starts with the class and the
// cause in plain words.
func (s *Service) failed(ctx context.Context, sj SubJob, attempt, maxAttempts int, runErr error, res scanner.Result) error {
	var code *int
	if res.ExitCode >= 0 && res.Duration > 0 {
		c := res.ExitCode
		code = &c
	}
	if errors.Is(runErr, errCancelled) {
		return s.finish(ctx, sj, StatusCancelled, "cancelled while running", nil, code)
	}
	f := scanner.Classify(sj.Tool, runErr, res.StderrTail)
	msg := f.Label() + "; " + runErr.Error()
	if res.StderrTail != "" {
		msg += ": " + lastLines(res.StderrTail, 20)
	}
	if !f.Retry() || attempt >= maxAttempts {
		if f.Retry() {
			msg = fmt.Sprintf("failed after %d attempts: %s", attempt, msg)
		}
		if err := s.finish(ctx, sj, StatusFailed, msg, nil, code); err != nil {
			return err
		}
		return river.JobCancel(errors.New(msg))
	}
	if err := s.inTeam(ctx, sj.TeamID, func(q *txn) error {
		if _, err := q.ExecContext(ctx, "UPDATE sub_jobs SET status = $1, error = $2, exit_code = $3 WHERE team_id = $4 AND id = $5",
			StatusRetrying, fmt.Sprintf("attempt %d of %d failed, will retry: %s", attempt, maxAttempts, msg), code, sj.TeamID, sj.ID); err != nil {
			return err
		}
		_, err := s.refresh(ctx, q, sj.TeamID, sj.ScanRunID)
		return err
	}); err != nil {
		return err
	}
	return errors.New(msg) // River retries with backoff
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// finish records a SubJob's final state and refreshes its run.
func (s *Service) finish(ctx context.Context, sj SubJob, status, msg string, part *findings.PartResult, exitCode *int) error {
	// The outcome is recorded even when the job's context has ended.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var run ScanRun
	err := s.inTeam(ctx, sj.TeamID, func(q *txn) error {
		now := s.now().UTC()
		if part != nil {
			if err := s.addPart(ctx, q, sj, part); err != nil {
				return err
			}
			// The compliance sync is queued in the transaction that records
			// the SubJob's findings: one exists exactly when the other does.
			if tx, ok := q.Querier.(*sql.Tx); ok && s.ComplianceSync != nil && status == StatusCompleted {
				if err := s.ComplianceSync(ctx, tx, sj.TeamID, part.Checks); err != nil {
					return err
				}
			}
		}
		if _, err := q.ExecContext(ctx, "UPDATE sub_jobs SET status = $1, error = $2, finished_at = $3, exit_code = COALESCE($4, exit_code) WHERE team_id = $5 AND id = $6",
			status, msg, now, exitCode, sj.TeamID, sj.ID); err != nil {
			return err
		}
		var err error
		if run, err = s.refresh(ctx, q, sj.TeamID, sj.ScanRunID); err != nil {
			return err
		}
		if tx, ok := q.Querier.(*sql.Tx); ok && s.SubJobFinished != nil {
			return s.SubJobFinished(ctx, tx, run, sj.ID, part)
		}
		return nil
	})
	if err == nil && Terminal(run.Status) {
		s.Logger.Info("scan run finished", "scan_run_id", run.ID, "status", run.Status, "subjobs", run.SubJobsTotal, "failed", run.SubJobsFailed)
		_ = s.Audit.Record(ctx, audit.Event{TeamID: run.TeamID, ActorEmail: run.CreatedBy, Action: "scan." + run.Status, TargetType: "scan_run",
			TargetID: run.ID, Outcome: outcome(run.Status), Details: map[string]any{"subjobs": run.SubJobsTotal, "failed": run.SubJobsFailed}})
	}
	return err
}

func outcome(status string) audit.Outcome {
	if status == StatusCompleted {
		return audit.Success
	}
	return audit.Failure
}

// ExpireArtifacts deletes the reports of SubJobs that finished before
// cutoff (artifact_retention) and forgets them; the SubJobs, their counts
// and their findings stay. It returns how many it deleted.
func (s *Service) ExpireArtifacts(ctx context.Context, cutoff time.Time) (int, error) {
	return artifact.Expire(ctx, s.Artifacts,
		func(ctx context.Context) ([]artifact.Ref, error) {
			var refs []artifact.Ref
			err := s.d.AsSystem(ctx, func(q db.Querier) error {
				var err error
				refs, err = artifact.QueryRefs(ctx, q, "SELECT id, team_id, artifact_ref FROM sub_jobs WHERE artifact_ref <> '' AND finished_at < $1 ORDER BY finished_at LIMIT 200", cutoff.UTC())
				return err
			})
			return refs, err
		},
		func(ctx context.Context, ref artifact.Ref) error {
			return s.d.InTeam(ctx, ref.TeamID, func(q db.Querier) error {
				_, err := q.ExecContext(ctx, "UPDATE sub_jobs SET artifact_ref = '' WHERE team_id = $1 AND id = $2", ref.TeamID, ref.RowID)
				return err
			})
		})
}

// addPart records what a SubJob's import did on the SubJob and adds it to
// its run's sums, in the transaction that finishes the SubJob (once: a
// SubJob finishes once). The run's row is locked first.
func (s *Service) addPart(ctx context.Context, q db.Querier, sj SubJob, part *findings.PartResult) error {
	sev, _ := json.Marshal(part.BySeverity)
	if _, err := q.ExecContext(ctx, `UPDATE sub_jobs SET items_read = $1, findings_created = $2, findings_updated = $3,
		findings_unchanged = $4, findings_resolved = $5, by_severity = $6 WHERE team_id = $7 AND id = $8`,
		part.ItemsRead, part.FindingsCreated, part.FindingsUpdated, part.FindingsUnchanged, part.FindingsResolved, string(sev),
		sj.TeamID, sj.ID); err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE scan_runs SET items_read = items_read + $1, findings_created = findings_created + $2,
		findings_updated = findings_updated + $3, findings_unchanged = findings_unchanged + $4, findings_resolved = findings_resolved + $5
		WHERE team_id = $6 AND id = $7`, part.ItemsRead, part.FindingsCreated, part.FindingsUpdated, part.FindingsUnchanged,
		part.FindingsResolved, sj.TeamID, sj.ScanRunID); err != nil {
		return err
	}
	var raw string
	if err := q.QueryRowContext(ctx, "SELECT by_severity FROM scan_runs WHERE team_id = $1 AND id = $2", sj.TeamID, sj.ScanRunID).Scan(&raw); err != nil {
		return err
	}
	total := map[string]int{}
	_ = json.Unmarshal([]byte(raw), &total)
	for k, v := range part.BySeverity {
		total[k] += v
	}
	b, _ := json.Marshal(total)
	_, err := q.ExecContext(ctx, "UPDATE scan_runs SET by_severity = $1 WHERE team_id = $2 AND id = $3", string(b), sj.TeamID, sj.ScanRunID)
	return err
}
