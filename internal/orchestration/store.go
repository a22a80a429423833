package orchestration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// ScanRun statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusRetrying  = "retrying" // SubJobs only: an attempt failed, River will try again
	StatusCompleted = "completed"
	StatusPartial   = "partial" // some SubJobs failed
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Terminal reports whether a status is final.
func Terminal(status string) bool {
	switch status {
	case StatusCompleted, StatusPartial, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// ScanRun is one request to scan, split into SubJobs.
type ScanRun struct {
	ID     string `json:"id"`
	TeamID string `json:"-"`
	// version is raised by every refresh; the unified history keeps the
	// mirror of the highest (see Service.mirror).
	version       int64
	ScanType      string   `json:"scan_type" enum:"cloud,network,web,container"`
	AccountID     string   `json:"account_id,omitempty"`
	AccountUID    string   `json:"account_uid,omitempty"`
	Provider      string   `json:"provider,omitempty"`
	Tools         []string `json:"tools"`
	Regions       []string `json:"regions"`
	Targets       []string `json:"targets"`
	Ports         string   `json:"ports,omitempty"`
	Status        string   `json:"status" enum:"queued,running,completed,partial,failed,cancelled"`
	StatusDetail  string   `json:"status_detail,omitempty" doc:"Why the run waits, or why it failed."`
	SubJobsTotal  int      `json:"subjobs_total"`
	SubJobsDone   int      `json:"subjobs_done" doc:"SubJobs in a final state."`
	SubJobsFailed int      `json:"subjobs_failed"`
	// Sums over the finished SubJobs.
	ItemsRead         int            `json:"items_read"`
	FindingsCreated   int            `json:"findings_created"`
	FindingsUpdated   int            `json:"findings_updated"`
	FindingsUnchanged int            `json:"findings_unchanged"`
	FindingsResolved  int            `json:"findings_resolved"`
	BySeverity        map[string]int `json:"by_severity"`
	Progress          float64        `json:"progress" doc:"Share of SubJobs finished, 0 to 1."`
	Cancelling        bool           `json:"cancel_requested"`
	ScheduleID        string         `json:"schedule_id,omitempty"`
	CreatedBy         string         `json:"created_by"`
	CreatedAt         time.Time      `json:"created_at"`
	StartedAt         *time.Time     `json:"started_at,omitempty"`
	FinishedAt        *time.Time     `json:"finished_at,omitempty"`
	SubJobs           []SubJob       `json:"subjobs,omitempty"`
}

// SubJob is one tool against one region, project, subscription or target.
type SubJob struct {
	ID                string         `json:"id"`
	TeamID            string         `json:"-"`
	ScanRunID         string         `json:"scan_run_id"`
	Seq               int            `json:"seq"`
	Tool              string         `json:"tool"`
	Region            string         `json:"region,omitempty"`
	Target            string         `json:"target,omitempty"`
	Status            string         `json:"status" enum:"queued,running,retrying,completed,failed,cancelled"`
	Attempts          int            `json:"attempts"`
	RiverJobID        int64          `json:"river_job_id,omitempty"`
	WorkerID          string         `json:"worker_id,omitempty"`
	StartedAt         *time.Time     `json:"started_at,omitempty"`
	FinishedAt        *time.Time     `json:"finished_at,omitempty"`
	HeartbeatAt       *time.Time     `json:"heartbeat_at,omitempty"`
	ItemsRead         int            `json:"items_read"`
	FindingsCreated   int            `json:"findings_created"`
	FindingsUpdated   int            `json:"findings_updated"`
	FindingsUnchanged int            `json:"findings_unchanged"`
	FindingsResolved  int            `json:"findings_resolved"`
	BySeverity        map[string]int `json:"by_severity"`
	ArtifactRef       string         `json:"-"`
	ArtifactBytes     int64          `json:"artifact_bytes,omitempty"`
	HasArtifact       bool           `json:"has_artifact"`
	ExitCode          *int           `json:"exit_code,omitempty"`
	Error             string         `json:"error,omitempty"`
}

const runColumns = `id, team_id, scan_type, account_id, account_uid, provider, tools, regions, targets, ports, status, status_detail,
	subjobs_total, subjobs_done, subjobs_failed, items_read, findings_created, findings_updated, findings_unchanged, findings_resolved, by_severity,
	cancel_requested, schedule_id, created_by, created_at, started_at, finished_at`

func scanRun(row interface{ Scan(...any) error }) (ScanRun, error) {
	var (
		r                       ScanRun
		tools, regions, targets string
		sev                     string
		started, finished       db.NullTime
	)
	if err := row.Scan(&r.ID, &r.TeamID, &r.ScanType, &r.AccountID, &r.AccountUID, &r.Provider, &tools, &regions, &targets, &r.Ports,
		&r.Status, &r.StatusDetail, &r.SubJobsTotal, &r.SubJobsDone, &r.SubJobsFailed, &r.ItemsRead, &r.FindingsCreated, &r.FindingsUpdated,
		&r.FindingsUnchanged, &r.FindingsResolved, &sev, &r.Cancelling, &r.ScheduleID, &r.CreatedBy,
		&r.CreatedAt, &started, &finished); err != nil {
		return ScanRun{}, db.MapError(err)
	}
	_ = json.Unmarshal([]byte(tools), &r.Tools)
	_ = json.Unmarshal([]byte(regions), &r.Regions)
	_ = json.Unmarshal([]byte(targets), &r.Targets)
	_ = json.Unmarshal([]byte(sev), &r.BySeverity)
	if r.BySeverity == nil {
		r.BySeverity = map[string]int{}
	}
	r.CreatedAt = r.CreatedAt.UTC()
	r.StartedAt, r.FinishedAt = started.Ptr(), finished.Ptr()
	if r.SubJobsTotal > 0 {
		r.Progress = float64(r.SubJobsDone) / float64(r.SubJobsTotal)
	}
	return r, nil
}

const subJobColumns = `id, team_id, scan_run_id, seq, tool, region, target, status, attempts, river_job_id, worker_id, started_at,
	finished_at, heartbeat_at, items_read, findings_created, findings_updated, findings_unchanged, findings_resolved, by_severity,
	artifact_ref, artifact_bytes, exit_code, error`

func scanSubJob(row interface{ Scan(...any) error }) (SubJob, error) {
	var (
		s                           SubJob
		riverID, exit               sql.NullInt64
		started, finished, heartbit db.NullTime
		sev                         string
	)
	if err := row.Scan(&s.ID, &s.TeamID, &s.ScanRunID, &s.Seq, &s.Tool, &s.Region, &s.Target, &s.Status, &s.Attempts, &riverID,
		&s.WorkerID, &started, &finished, &heartbit, &s.ItemsRead, &s.FindingsCreated, &s.FindingsUpdated, &s.FindingsUnchanged,
		&s.FindingsResolved, &sev, &s.ArtifactRef, &s.ArtifactBytes, &exit, &s.Error); err != nil {
		return SubJob{}, db.MapError(err)
	}
	s.RiverJobID = riverID.Int64
	if exit.Valid {
		c := int(exit.Int64)
		s.ExitCode = &c
	}
	s.StartedAt, s.FinishedAt, s.HeartbeatAt = started.Ptr(), finished.Ptr(), heartbit.Ptr()
	_ = json.Unmarshal([]byte(sev), &s.BySeverity)
	if s.BySeverity == nil {
		s.BySeverity = map[string]int{}
	}
	s.HasArtifact = s.ArtifactRef != ""
	return s, nil
}

func runGet(ctx context.Context, q db.Querier, teamID, runID string) (ScanRun, error) {
	return scanRun(q.QueryRowContext(ctx, "SELECT "+runColumns+" FROM scan_runs WHERE team_id = $1 AND id = $2", teamID, runID))
}

func subJobGet(ctx context.Context, q db.Querier, teamID, subJobID string) (SubJob, error) {
	return scanSubJob(q.QueryRowContext(ctx, "SELECT "+subJobColumns+" FROM sub_jobs WHERE team_id = $1 AND id = $2", teamID, subJobID))
}

func subJobList(ctx context.Context, q db.Querier, teamID, runID string) ([]SubJob, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+subJobColumns+" FROM sub_jobs WHERE team_id = $1 AND scan_run_id = $2 ORDER BY seq", teamID, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SubJob{}
	for rows.Next() {
		s, err := scanSubJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ScanRunGet returns a run with its SubJobs.
func (s *Service) ScanRunGet(ctx context.Context, teamID, runID string) (ScanRun, error) {
	var r ScanRun
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		if r, err = runGet(ctx, q, teamID, runID); err != nil {
			return err
		}
		r.SubJobs, err = subJobList(ctx, q, teamID, runID)
		return err
	})
	return r, err
}

// ListParams filters the team's runs, newest first.
type ListParams struct {
	TeamID    string
	AccountID string
	Status    string
	Limit     int
	Offset    int
}

// ScanRunList returns a page of runs (without SubJobs) and the total.
func (s *Service) ScanRunList(ctx context.Context, p ListParams) ([]ScanRun, int, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	w := db.Where{}
	w.Add("team_id = %s", p.TeamID)
	if p.AccountID != "" {
		w.Add("account_id = %s", p.AccountID)
	}
	if p.Status != "" {
		w.Add("status = %s", p.Status)
	}
	out := []ScanRun{}
	total := 0
	err := s.d.ReadInTeam(ctx, p.TeamID, func(q db.Querier) error {
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM scan_runs WHERE "+w.SQL(), w.Args...).Scan(&total); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM scan_runs WHERE %s ORDER BY created_at DESC, id LIMIT %d OFFSET %d",
			runColumns, w.SQL(), p.Limit, p.Offset), w.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, total, err
}
