package orchestration

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Schedule scans an account daily or weekly at an hour (UTC). Schedules
// live in the database, so they survive restarts; a River periodic job
// (scan_schedules, every minute, on whichever process leads) starts the
// runs that are due.
type Schedule struct {
	ID            string     `json:"id"`
	TeamID        string     `json:"-"`
	AccountID     string     `json:"account_id"`
	Tools         []string   `json:"tools"`
	Regions       []string   `json:"regions" doc:"Empty: the account's regions at the time of each run."`
	Frequency     string     `json:"frequency" enum:"daily,weekly"`
	Weekday       int        `json:"weekday" minimum:"0" maximum:"6" doc:"0 is Sunday; weekly schedules only."`
	Hour          int        `json:"hour" minimum:"0" maximum:"23" doc:"UTC."`
	Enabled       bool       `json:"enabled"`
	NextRunAt     time.Time  `json:"next_run_at"`
	LastRunAt     *time.Time `json:"last_run_at,omitempty"`
	LastScanRunID string     `json:"last_scan_run_id,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
}

// ScheduleParams creates or changes a schedule.
type ScheduleParams struct {
	AccountID string   `json:"account_id,omitempty" maxLength:"64" doc:"Required to create; a schedule stays with its account."`
	Tools     []string `json:"tools" minItems:"1" maxItems:"4"`
	Regions   []string `json:"regions,omitempty" maxItems:"64"`
	Frequency string   `json:"frequency" enum:"daily,weekly"`
	Weekday   int      `json:"weekday,omitempty" minimum:"0" maximum:"6"`
	Hour      int      `json:"hour" minimum:"0" maximum:"23"`
	Enabled   *bool    `json:"enabled,omitempty" doc:"Default true."`
}

// NextRun is the first time after now that a schedule fires.
func NextRun(frequency string, weekday, hour int, now time.Time) time.Time {
	now = now.UTC()
	t := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC)
	if frequency == "weekly" {
		t = t.AddDate(0, 0, (weekday-int(t.Weekday())+7)%7)
		if !t.After(now) {
			t = t.AddDate(0, 0, 7)
		}
		return t
	}
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

const scheduleColumns = `id, team_id, account_id, tools, regions, frequency, weekday, hour, enabled, next_run_at, last_run_at,
	last_scan_run_id, last_error, created_by, created_at`

func scanSchedule(row interface{ Scan(...any) error }) (Schedule, error) {
	var (
		sc             Schedule
		tools, regions string
		last           db.NullTime
		next, created  db.Time
	)
	if err := row.Scan(&sc.ID, &sc.TeamID, &sc.AccountID, &tools, &regions, &sc.Frequency, &sc.Weekday, &sc.Hour, &sc.Enabled, &next,
		&last, &sc.LastScanRunID, &sc.LastError, &sc.CreatedBy, &created); err != nil {
		return Schedule{}, db.MapError(err)
	}
	_ = json.Unmarshal([]byte(tools), &sc.Tools)
	_ = json.Unmarshal([]byte(regions), &sc.Regions)
	sc.NextRunAt, sc.CreatedAt, sc.LastRunAt = next.UTC(), created.UTC(), last.Ptr()
	return sc, nil
}

// validate checks a schedule by planning the scan it would start (without
// writing anything): the account must be the team's and the tools and
// regions valid for it.
func (s *Service) validateSchedule(ctx context.Context, teamID string, p ScheduleParams) error {
	if p.AccountID == "" {
		return invalid("account_id is required")
	}
	if p.Frequency != "daily" && p.Frequency != "weekly" {
		return invalid("frequency must be daily or weekly")
	}
	if p.Hour < 0 || p.Hour > 23 || p.Weekday < 0 || p.Weekday > 6 {
		return invalid("hour is 0-23 and weekday 0-6")
	}
	sp := ScanParams{ScanType: "cloud", AccountID: p.AccountID, Tools: p.Tools, Regions: p.Regions}
	_, err := s.plan(ctx, teamID, &sp, &ScanRun{})
	return err
}

// ScheduleCreate adds a schedule to one of the team's accounts.
func (s *Service) ScheduleCreate(ctx context.Context, teamID, actor string, p ScheduleParams) (Schedule, error) {
	if err := s.validateSchedule(ctx, teamID, p); err != nil {
		return Schedule{}, err
	}
	now := s.now().UTC()
	enabled := p.Enabled == nil || *p.Enabled
	tools, _ := json.Marshal(p.Tools)
	regions, _ := json.Marshal(nonNilStrings(p.Regions))
	scheduleID := id.New()
	var sc Schedule
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO scan_schedules (id, team_id, account_id, tools, regions, frequency, weekday, hour, enabled,
			next_run_at, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
			scheduleID, teamID, p.AccountID, string(tools), string(regions), p.Frequency, p.Weekday, p.Hour, enabled,
			NextRun(p.Frequency, p.Weekday, p.Hour, now), actor, now); err != nil {
			return err
		}
		var err error
		sc, err = scanSchedule(q.QueryRowContext(ctx, "SELECT "+scheduleColumns+" FROM scan_schedules WHERE team_id = $1 AND id = $2", teamID, scheduleID))
		return err
	})
	return sc, err
}

// ScheduleUpdate replaces a schedule's settings; the next run is computed again.
func (s *Service) ScheduleUpdate(ctx context.Context, teamID, scheduleID string, p ScheduleParams) (Schedule, error) {
	cur, err := s.ScheduleGet(ctx, teamID, scheduleID)
	if err != nil {
		return Schedule{}, err
	}
	p.AccountID = cur.AccountID
	if err := s.validateSchedule(ctx, teamID, p); err != nil {
		return Schedule{}, err
	}
	enabled := p.Enabled == nil || *p.Enabled
	tools, _ := json.Marshal(p.Tools)
	regions, _ := json.Marshal(nonNilStrings(p.Regions))
	var sc Schedule
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE scan_schedules SET tools = $1, regions = $2, frequency = $3, weekday = $4, hour = $5,
			enabled = $6, next_run_at = $7 WHERE team_id = $8 AND id = $9`, string(tools), string(regions), p.Frequency, p.Weekday, p.Hour,
			enabled, NextRun(p.Frequency, p.Weekday, p.Hour, s.now()), teamID, scheduleID); err != nil {
			return err
		}
		var err error
		sc, err = scanSchedule(q.QueryRowContext(ctx, "SELECT "+scheduleColumns+" FROM scan_schedules WHERE team_id = $1 AND id = $2", teamID, scheduleID))
		return err
	})
	return sc, err
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// ScheduleGet returns one of the team's schedules.
func (s *Service) ScheduleGet(ctx context.Context, teamID, scheduleID string) (Schedule, error) {
	var sc Schedule
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		sc, err = scanSchedule(q.QueryRowContext(ctx, "SELECT "+scheduleColumns+" FROM scan_schedules WHERE team_id = $1 AND id = $2", teamID, scheduleID))
		return err
	})
	return sc, err
}

// ScheduleList returns the team's schedules, of one account when accountID is set.
func (s *Service) ScheduleList(ctx context.Context, teamID, accountID string) ([]Schedule, error) {
	w := db.Where{}
	w.Add("team_id = %s", teamID)
	if accountID != "" {
		w.Add("account_id = %s", accountID)
	}
	out := []Schedule{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT "+scheduleColumns+" FROM scan_schedules WHERE "+w.SQL()+" ORDER BY next_run_at, id", w.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sc, err := scanSchedule(rows)
			if err != nil {
				return err
			}
			out = append(out, sc)
		}
		return rows.Err()
	})
	return out, err
}

// ScheduleDelete removes a schedule.
func (s *Service) ScheduleDelete(ctx context.Context, teamID, scheduleID string) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "DELETE FROM scan_schedules WHERE team_id = $1 AND id = $2", teamID, scheduleID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return nil
	})
}

// RunDueSchedules starts a run for every enabled schedule that is due and
// moves it to its next time, in one transaction per schedule: a crash
// neither skips nor repeats a run. A schedule whose scan cannot start (its
// account was deleted, its regions no longer allowed) keeps the reason.
func (s *Service) RunDueSchedules(ctx context.Context) (int, error) {
	now := s.now().UTC()
	type due struct{ id, teamID string }
	var list []due
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT id, team_id FROM scan_schedules WHERE enabled = TRUE AND next_run_at <= $1 ORDER BY next_run_at LIMIT 500", now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.teamID); err != nil {
				return err
			}
			list = append(list, d)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	started := 0
	for _, d := range list {
		var run ScanRun
		err := s.inTeam(ctx, d.teamID, func(q *txn) error {
			sc, err := scanSchedule(q.QueryRowContext(ctx, "SELECT "+scheduleColumns+" FROM scan_schedules WHERE team_id = $1 AND id = $2", d.teamID, d.id))
			if err != nil {
				return err
			}
			if !sc.Enabled || sc.NextRunAt.After(now) {
				return nil // another process took it
			}
			next := NextRun(sc.Frequency, sc.Weekday, sc.Hour, now)
			run, err = s.initiateTx(ctx, q, d.teamID, ScanParams{ScanType: "cloud", AccountID: sc.AccountID, Tools: sc.Tools,
				Regions: sc.Regions, ScheduleID: sc.ID, CreatedBy: "schedule:" + sc.ID})
			if err != nil {
				_, uerr := q.ExecContext(ctx, "UPDATE scan_schedules SET next_run_at = $1, last_run_at = $2, last_error = $3 WHERE team_id = $4 AND id = $5",
					next, now, err.Error(), d.teamID, d.id)
				run = ScanRun{}
				return uerr
			}
			_, err = q.ExecContext(ctx, "UPDATE scan_schedules SET next_run_at = $1, last_run_at = $2, last_scan_run_id = $3, last_error = '' WHERE team_id = $4 AND id = $5",
				next, now, run.ID, d.teamID, d.id)
			return err
		})
		if err != nil {
			return started, fmt.Errorf("schedule %s: %w", d.id, err)
		}
		if run.ID != "" {
			started++
			_ = s.Audit.Record(ctx, audit.Event{TeamID: d.teamID, ActorEmail: "schedule:" + d.id, Action: "scan.initiated", TargetType: "scan_run",
				TargetID: run.ID, Details: map[string]any{"schedule_id": d.id, "subjobs": run.SubJobsTotal}})
		}
	}
	return started, nil
}

// ScanSchedulesArgs is the periodic job that starts due scheduled scans.
type ScanSchedulesArgs struct{}

// Kind implements river.JobArgs.
func (ScanSchedulesArgs) Kind() string { return "scan_schedules" }

// InsertOpts: one at a time is enough.
func (ScanSchedulesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

// ScanSchedulesWorker works ScanSchedulesArgs.
type ScanSchedulesWorker struct {
	river.WorkerDefaults[ScanSchedulesArgs]
	Service *Service
}

// Work starts the due runs.
func (w *ScanSchedulesWorker) Work(ctx context.Context, _ *river.Job[ScanSchedulesArgs]) error {
	n, err := w.Service.RunDueSchedules(ctx)
	if n > 0 {
		w.Service.Logger.Info("scheduled scans started", "count", n)
	}
	return err
}
