// Package orchestration is the seed's CloudScanOrchestrationService: a scan
// request becomes a ScanRun split into SubJobs (one tool against one
// region, project, subscription or target), each worked by a River job
// (execute_cloud_scan for cloud accounts, execute_scan for network, web and
// container targets). InitiateScan writes the ScanRun, its SubJobs and their
// jobs in one transaction: a run never exists without its jobs, nor a job
// without its run.
package orchestration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/queue"
	"github.com/offloadsecurity/cspm/internal/scanner"
)

// Limits bound the work.
type Limits struct {
	// Timeout ends a tool's run; StallTimeout one that has written nothing for that long.
	Timeout      time.Duration
	StallTimeout time.Duration
	// MaxAttempts is how often a SubJob is tried when it fails for a
	// reason that may pass (not bad credentials, not a bad target).
	MaxAttempts int
	// MaxSubJobs bounds one ScanRun.
	MaxSubJobs int
	// WaitPoll is how often a SubJob waiting for an earlier run of the same account looks again.
	WaitPoll time.Duration
}

// Service orchestrates scans.
type Service struct {
	d         *db.DB
	Queue     *queue.Client
	Cloud     *cloud.Service
	Findings  *findings.Store
	Artifacts artifact.Store
	Tools     scanner.Config
	Audit     *audit.Log
	Logger    *slog.Logger
	Limits    Limits
	// ComplianceSync, when set, queues a compliance sync of the checks a
	// SubJob's findings touched (nil: every check), in tx, the
	// orchestration transaction that records them.
	ComplianceSync func(ctx context.Context, tx *sql.Tx, teamID string, checks []string) error
	// SubJobFinished, when set, hears in tx (the orchestration transaction
	// that records a SubJob's end) the run as refreshed and the SubJob's
	// findings (nil when it recorded none): the app queues notifications
	// there, so that one exists exactly when the other does.
	SubJobFinished func(ctx context.Context, tx *sql.Tx, run ScanRun, subJobID string, part *findings.PartResult) error
	// WorkRoot holds each running SubJob's directory.
	WorkRoot string
	// WorkerID names this process in SubJob rows.
	WorkerID string
	// CheckTools refuses a scan whose tool this process cannot find
	// (scanner.Locate): set when the process runs the workers, whose
	// machine is then the one that matters. A process without workers
	// (serve --no-workers) checks against what the workers reported
	// (ReportTools, in worker_tools), and queues the scan unchecked, with a
	// warning in its log, when no worker reported lately.
	CheckTools bool
	warnOnce   sync.Once
	now        func() time.Time
	// nativeScans writes the unified history.
	nativeScans *db.DB
}

// New returns the service on reg's orchestration database.
func New(reg *db.Registry) *Service {
	return &Service{d: reg.Get(db.Orchestration), nativeScans: reg.Get(db.NativeScans), now: time.Now,
		Limits: Limits{Timeout: 4 * time.Hour, StallTimeout: 30 * time.Minute, MaxAttempts: 3, MaxSubJobs: 1000, WaitPoll: 5 * time.Second}}
}

// ScanParams is a request to scan.
type ScanParams struct {
	// ScanType is cloud (AccountID, Tools, Regions) or network, web,
	// container (Tool, Targets, Ports).
	ScanType  string
	AccountID string
	Tools     []string
	Regions   []string
	Targets   []string
	Ports     string
	// ScheduleID marks a run started by a schedule.
	ScheduleID string
	CreatedBy  string
}

// ErrInvalid wraps a request that cannot be planned (the API answers 422).
var ErrInvalid = cloud.ErrInvalid

// ToolMissingError refuses a scan whose tool is not installed where the
// scan would run (the API answers 422 and names the tool, its setting and
// how to install it).
type ToolMissingError struct{ Tool scanner.ToolStatus }

func (e *ToolMissingError) Error() string {
	t := e.Tool
	return fmt.Sprintf("%s is not installed where scans run (%s): install it (%s) or set %s (%s) to its executable",
		t.Label, t.Problem, t.Install, t.Setting, t.Env)
}

// Unwrap makes a missing tool an invalid request.
func (e *ToolMissingError) Unwrap() error { return ErrInvalid }

// ErrConnectionFailed refuses a cloud scan of an account whose last
// connection test failed.
var ErrConnectionFailed = errors.New("the account's last connection test failed")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// plan turns a request into the run's SubJobs: AWS, one per region and
// tool; GCP and Azure, one per project or subscription and tool; network,
// web and container scans, one per target and tool.
func (s *Service) plan(ctx context.Context, teamID string, p *ScanParams, run *ScanRun) ([]SubJob, error) {
	var subs []SubJob
	add := func(tool, region, target string) {
		subs = append(subs, SubJob{ID: id.New(), TeamID: teamID, ScanRunID: run.ID, Seq: len(subs), Tool: tool, Region: region,
			Target: target, Status: StatusQueued, BySeverity: map[string]int{}})
	}
	if len(p.Tools) == 0 {
		return nil, invalid("name at least one tool")
	}
	allowed := scanner.ToolsFor(p.ScanType)
	seen := map[string]bool{}
	for _, t := range p.Tools {
		if !slices.Contains(allowed, t) {
			return nil, invalid("tool %q does not run %s scans (use one of %s)", t, p.ScanType, strings.Join(allowed, ", "))
		}
		if seen[t] {
			return nil, invalid("tool %q named twice", t)
		}
		seen[t] = true
	}
	if err := s.checkTools(ctx, p.Tools); err != nil {
		return nil, err
	}
	run.Tools = p.Tools
	if p.ScanType == "cloud" {
		acct, err := s.Cloud.AccountGet(ctx, teamID, p.AccountID)
		if err != nil {
			return nil, err // ErrNotFound: another team's account is no account
		}
		if acct.LastTest != nil && !acct.LastTest.OK {
			return nil, fmt.Errorf("%w: %w (%s): fix the credentials or the network and test the connection again",
				ErrInvalid, ErrConnectionFailed, acct.LastTest.Detail)
		}
		run.AccountID, run.AccountUID, run.Provider = acct.ID, acct.AccountUID, acct.Provider
		regions := p.Regions
		if len(regions) == 0 {
			regions = acct.Regions
		}
		if acct.Provider != cloud.AWS {
			// GCP and Azure scans cover the project or subscription whole.
			regions = []string{acct.AccountUID}
		} else {
			if len(regions) == 0 {
				return nil, invalid("the account has no regions and the request names none")
			}
			for _, r := range regions {
				if err := cloud.ValidateRegion(cloud.AWS, r); err != nil {
					return nil, err
				}
				if len(acct.Regions) > 0 && !slices.Contains(acct.Regions, r) {
					return nil, invalid("region %s is not among the account's allowed regions", r)
				}
			}
			regions = sortedUnique(regions)
			run.Regions = regions
		}
		for _, r := range regions {
			for _, t := range p.Tools {
				add(t, r, "")
			}
		}
	} else {
		if len(p.Targets) == 0 {
			return nil, invalid("name at least one target")
		}
		if err := scanner.ValidatePorts(p.Ports); err != nil {
			return nil, err
		}
		if p.Ports != "" && p.ScanType != "network" {
			return nil, invalid("ports apply to network scans only")
		}
		targets := sortedUnique(p.Targets)
		for _, t := range targets {
			if err := s.Tools.ValidateTarget(p.ScanType, t); err != nil {
				return nil, err
			}
		}
		run.Targets, run.Ports = targets, p.Ports
		for _, target := range targets {
			for _, t := range p.Tools {
				add(t, "", target)
			}
		}
	}
	if len(subs) > s.Limits.MaxSubJobs {
		return nil, invalid("the scan would have %d SubJobs; at most %d", len(subs), s.Limits.MaxSubJobs)
	}
	return subs, nil
}

func sortedUnique(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// InitiateScan is the seed's initiate_scan: it plans the request and writes
// the ScanRun, its SubJobs and their River jobs in one transaction.
func (s *Service) InitiateScan(ctx context.Context, teamID string, p ScanParams) (ScanRun, error) {
	var run ScanRun
	err := s.inTeam(ctx, teamID, func(q *txn) error {
		var err error
		run, err = s.initiateTx(ctx, q, teamID, p)
		return err
	})
	if err != nil {
		return ScanRun{}, err
	}
	_ = s.Audit.Record(ctx, audit.Event{TeamID: teamID, ActorEmail: p.CreatedBy, Action: "scan.initiated", TargetType: "scan_run",
		TargetID: run.ID, Details: map[string]any{"scan_type": run.ScanType, "tools": run.Tools, "account_id": run.AccountID,
			"regions": run.Regions, "targets": run.Targets, "subjobs": run.SubJobsTotal, "schedule_id": p.ScheduleID}})
	return run, nil
}

// initiateTx plans and writes a run with q, a transaction on the
// orchestration database.
func (s *Service) initiateTx(ctx context.Context, q *txn, teamID string, p ScanParams) (ScanRun, error) {
	now := s.now().UTC()
	run := ScanRun{ID: id.New(), TeamID: teamID, ScanType: p.ScanType, Status: StatusQueued, Regions: []string{}, Targets: []string{},
		ScheduleID: p.ScheduleID, CreatedBy: p.CreatedBy, CreatedAt: now}
	subs, err := s.plan(ctx, teamID, &p, &run)
	if err != nil {
		return ScanRun{}, err
	}
	run.SubJobsTotal = len(subs)
	tools, _ := json.Marshal(run.Tools)
	regions, _ := json.Marshal(run.Regions)
	targets, _ := json.Marshal(run.Targets)
	if _, err := q.ExecContext(ctx, `INSERT INTO scan_runs (id, team_id, scan_type, account_id, account_uid, provider, tools, regions,
		targets, ports, status, subjobs_total, schedule_id, created_by, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
		run.ID, teamID, run.ScanType, run.AccountID, run.AccountUID, run.Provider, string(tools), string(regions), string(targets),
		run.Ports, run.Status, run.SubJobsTotal, run.ScheduleID, run.CreatedBy, now, now); err != nil {
		return ScanRun{}, fmt.Errorf("create scan run: %w", err)
	}
	rows := make([]any, 0, len(subs)*8)
	params := make([]river.InsertManyParams, 0, len(subs))
	for _, sj := range subs {
		rows = append(rows, sj.ID, teamID, run.ID, sj.Seq, sj.Tool, sj.Region, sj.Target, StatusQueued)
		params = append(params, river.InsertManyParams{Args: s.jobArgs(run, sj), InsertOpts: s.insertOpts(sj.Tool)})
	}
	if err := db.InsertRows(ctx, q, s.d.Dialect, "INSERT INTO sub_jobs (id, team_id, scan_run_id, seq, tool, region, target, status)",
		8, rows, 500, ""); err != nil {
		return ScanRun{}, fmt.Errorf("create sub jobs: %w", err)
	}
	tx, ok := q.Querier.(*sql.Tx)
	if !ok {
		return ScanRun{}, errors.New("orchestration: InitiateScan needs a transaction")
	}
	res, err := s.Queue.InsertManyTx(ctx, tx, params)
	if err != nil {
		return ScanRun{}, fmt.Errorf("queue sub jobs: %w", err)
	}
	// Record each SubJob's River job, so that cancelling can reach it.
	for i, r := range res {
		subs[i].RiverJobID = r.Job.ID
		if _, err := q.ExecContext(ctx, "UPDATE sub_jobs SET river_job_id = $1 WHERE id = $2", r.Job.ID, subs[i].ID); err != nil {
			return ScanRun{}, fmt.Errorf("link sub jobs: %w", err)
		}
	}
	run.SubJobs = subs
	q.changed(run)
	return run, nil
}

func (s *Service) jobArgs(run ScanRun, sj SubJob) river.JobArgs {
	a := SubJobArgs{TeamID: run.TeamID, ScanRunID: run.ID, SubJobID: sj.ID, Tool: sj.Tool}
	if run.ScanType == "cloud" {
		return ExecuteCloudScanArgs{a}
	}
	return ExecuteScanArgs{a}
}

// ToolQueue is the River queue of a tool's SubJobs: a queue per tool is
// how each worker limits how many runs of one tool it works at once.
func ToolQueue(tool string) string { return "scan_" + tool }

func (s *Service) insertOpts(tool string) *river.InsertOpts {
	return &river.InsertOpts{Queue: ToolQueue(tool), MaxAttempts: max(s.Limits.MaxAttempts, 1)}
}

// txn is a transaction on the orchestration database that remembers the
// runs it changed, so that inTeam mirrors them into the unified history
// once it has committed. The rule (docs/architecture.md): no code holds one
// logical database's write transaction while it opens another's. On SQLite
// each has a single writer, and an import holding native_scans while it
// wrote progress to orchestration, against a SubJob holding orchestration
// while it mirrored to native_scans, froze both for good.
type txn struct {
	db.Querier
	runs map[string]ScanRun
}

// changed records that run's state is to be mirrored after the commit.
func (t *txn) changed(run ScanRun) { t.runs[run.ID] = run }

// inTeam runs fn in a team's orchestration transaction, then mirrors the
// runs it changed.
func (s *Service) inTeam(ctx context.Context, teamID string, fn func(q *txn) error) error {
	t := &txn{runs: map[string]ScanRun{}}
	if err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		t.Querier = q
		return fn(t)
	}); err != nil {
		return err
	}
	for _, run := range t.runs {
		if err := s.mirror(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

// mirror writes the run's state into the unified scan history, after the
// transaction that changed it committed. Runs carry a version that every
// refresh raises, and the history keeps the highest, so two SubJobs
// finishing together cannot leave an older state behind.
func (s *Service) mirror(ctx context.Context, run ScanRun) error {
	rec := nativescans.ScanResult{ID: run.ID, TeamID: run.TeamID, ScanType: nativescans.ScanType(run.ScanType),
		Tool: strings.Join(run.Tools, "+"), Source: "scan", Target: strings.Join(run.Targets, ", "), AccountUID: run.AccountUID,
		Status: run.Status, StartedAt: run.CreatedAt, FinishedAt: run.FinishedAt, Error: run.StatusDetail, CreatedBy: run.CreatedBy,
		ItemsRead: run.ItemsRead, FindingsCreated: run.FindingsCreated, FindingsUpdated: run.FindingsUpdated,
		FindingsUnchanged: run.FindingsUnchanged, FindingsResolved: run.FindingsResolved, BySeverity: run.BySeverity, ByResult: map[string]int{},
		SourceVersion: run.version}
	if run.ScanType == "cloud" && rec.Target == "" {
		rec.Target = strings.Join(run.Regions, ", ")
	}
	return s.nativeScans.InTeam(ctx, run.TeamID, func(q db.Querier) error {
		return nativescans.MirrorToUnifiedScanResults(ctx, q, &rec)
	})
}

// refresh recomputes a run's status from its SubJobs and mirrors it, with
// q, the transaction that changed a SubJob. Touching the run's row first
// takes its lock on PostgreSQL, so concurrent SubJobs refresh in turn. It
// reads counts, not SubJobs: a run of a thousand SubJobs refreshes as fast
// as a run of one.
func (s *Service) refresh(ctx context.Context, q *txn, teamID, runID string) (ScanRun, error) {
	now := s.now().UTC()
	var version int64
	if err := q.QueryRowContext(ctx, "UPDATE scan_runs SET updated_at = $1, version = version + 1 WHERE team_id = $2 AND id = $3 RETURNING version",
		now, teamID, runID).Scan(&version); err != nil {
		return ScanRun{}, db.MapError(err)
	}
	run, err := runGet(ctx, q, teamID, runID)
	if err != nil {
		return ScanRun{}, err
	}
	run.version = version
	counts, err := statusCounts(ctx, q, teamID, runID)
	if err != nil {
		return ScanRun{}, err
	}
	total := run.SubJobsTotal
	done := counts[StatusCompleted] + counts[StatusFailed] + counts[StatusCancelled]
	var status string
	switch {
	case done < total && counts[StatusRunning]+counts[StatusRetrying] > 0:
		status = StatusRunning
	case done < total && done > 0:
		status = StatusRunning
	case done < total:
		status = StatusQueued
	case counts[StatusCompleted] == total:
		status = StatusCompleted
	case run.Cancelling:
		status = StatusCancelled
	case counts[StatusCompleted] == 0 && counts[StatusFailed] > 0:
		status = StatusFailed
	case counts[StatusCompleted] == 0:
		status = StatusCancelled
	default:
		status = StatusPartial
	}
	detail := run.StatusDetail
	if status != StatusQueued && strings.HasPrefix(detail, "waiting") {
		detail = ""
	}
	if (status == StatusFailed || status == StatusPartial) && counts[StatusFailed] > 0 {
		if detail, err = failureSummary(ctx, q, teamID, runID, counts[StatusFailed]); err != nil {
			return ScanRun{}, err
		}
	}
	var started, finished any
	if status != StatusQueued && run.StartedAt == nil {
		started, run.StartedAt = now, &now
	}
	if Terminal(status) && run.FinishedAt == nil {
		finished, run.FinishedAt = now, &now
	}
	run.Status, run.StatusDetail = status, detail
	run.SubJobsDone, run.SubJobsFailed = done, counts[StatusFailed]
	if total > 0 {
		run.Progress = float64(done) / float64(total)
	}
	if _, err := q.ExecContext(ctx, `UPDATE scan_runs SET status = $1, status_detail = $2, subjobs_done = $3, subjobs_failed = $4,
		started_at = COALESCE(started_at, $5), finished_at = COALESCE(finished_at, $6) WHERE team_id = $7 AND id = $8`,
		status, detail, done, counts[StatusFailed], started, finished, teamID, runID); err != nil {
		return ScanRun{}, err
	}
	q.changed(run)
	return run, nil
}

func statusCounts(ctx context.Context, q db.Querier, teamID, runID string) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, "SELECT status, count(*) FROM sub_jobs WHERE team_id = $1 AND scan_run_id = $2 GROUP BY status", teamID, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		counts[st] = n
	}
	return counts, rows.Err()
}

// failureSummary names the failed SubJobs (the first few) and the first error.
func failureSummary(ctx context.Context, q db.Querier, teamID, runID string, failed int) (string, error) {
	rows, err := q.QueryContext(ctx, "SELECT tool, region, target, error FROM sub_jobs WHERE team_id = $1 AND scan_run_id = $2 AND status = 'failed' ORDER BY seq LIMIT 5",
		teamID, runID)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var (
		names []string
		first string
	)
	for rows.Next() {
		var tool, region, target, msg string
		if err := rows.Scan(&tool, &region, &target, &msg); err != nil {
			return "", err
		}
		names = append(names, tool+" "+region+target)
		if first == "" {
			first = msg
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if failed > len(names) {
		names = append(names, fmt.Sprintf("and %d more", failed-len(names)))
	}
	if len(first) > 300 {
		first = first[:300] + "…"
	}
	return fmt.Sprintf("%d SubJob(s) failed (%s): %s", failed, strings.Join(names, "; "), first), nil
}

// ScanRunCancel asks a run to stop: queued SubJobs are cancelled at once
// (with their River jobs); running ones see the request at their next
// heartbeat and kill their tool.
func (s *Service) ScanRunCancel(ctx context.Context, teamID, runID, actor string) (ScanRun, error) {
	var run ScanRun
	err := s.inTeam(ctx, teamID, func(q *txn) error {
		cur, err := runGet(ctx, q, teamID, runID)
		if err != nil {
			return err
		}
		if Terminal(cur.Status) {
			run = cur
			run.SubJobs, err = subJobList(ctx, q, teamID, runID)
			return err
		}
		now := s.now().UTC()
		if _, err := q.ExecContext(ctx, "UPDATE scan_runs SET cancel_requested = TRUE WHERE team_id = $1 AND id = $2", teamID, runID); err != nil {
			return err
		}
		subs, err := subJobList(ctx, q, teamID, runID)
		if err != nil {
			return err
		}
		tx, _ := q.Querier.(*sql.Tx)
		for _, sj := range subs {
			if sj.Status != StatusQueued && sj.Status != StatusRetrying {
				continue
			}
			if _, err := q.ExecContext(ctx, "UPDATE sub_jobs SET status = $1, finished_at = $2, error = $3 WHERE team_id = $4 AND id = $5",
				StatusCancelled, now, "cancelled by "+actor, teamID, sj.ID); err != nil {
				return err
			}
			if sj.RiverJobID != 0 && tx != nil {
				if _, err := s.Queue.JobCancelTx(ctx, tx, sj.RiverJobID); err != nil && !errors.Is(err, river.ErrNotFound) {
					return fmt.Errorf("cancel job %d: %w", sj.RiverJobID, err)
				}
			}
		}
		run, err = s.refresh(ctx, q, teamID, runID)
		return err
	})
	if err == nil {
		_ = s.Audit.Record(ctx, audit.Event{TeamID: teamID, ActorEmail: actor, Action: "scan.cancelled", TargetType: "scan_run", TargetID: runID})
	}
	return run, err
}
