// Package queue runs River, the job queue, on the orchestration database:
// River's SQLite driver on the embedded default and its database/sql driver
// on PostgreSQL. Both give a river.Client[*sql.Tx], so every service inserts
// its jobs with InsertTx in the same *sql.Tx as the rows that need them,
// whatever the engine.
package queue

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Client is the River client type every service uses.
type Client = river.Client[*sql.Tx]

func driverFor(d *db.DB) riverdriver.Driver[*sql.Tx] {
	if d.Dialect == db.SQLite {
		return riversqlite.New(d.DB)
	}
	return riverdatabasesql.New(d.DB)
}

// Migrate brings River's own tables in the orchestration database up to date.
// Processes starting together take turns through db.WithLock.
func Migrate(ctx context.Context, reg *db.Registry, logger *slog.Logger) (applied int, err error) {
	d := reg.Get(db.Orchestration)
	m, err := rivermigrate.New(driverFor(d), &rivermigrate.Config{Schema: d.Schema, Logger: quiet(logger)})
	if err != nil {
		return 0, err
	}
	// River's migrations must not share one transaction (one adds an enum
	// value that a later one uses), so the lock is the cross-process one.
	err = d.WithLock(ctx, "river-migrate", func() error {
		res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return fmt.Errorf("migrate River tables: %w", err)
		}
		applied = len(res.Versions)
		return nil
	})
	return applied, err
}

// Version returns the highest applied River migration, 0 when none.
func Version(ctx context.Context, reg *db.Registry) (int, error) {
	d := reg.Get(db.Orchestration)
	m, err := rivermigrate.New(driverFor(d), &rivermigrate.Config{Schema: d.Schema, Logger: quiet(nil)})
	if err != nil {
		return 0, err
	}
	versions, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, err
	}
	if len(versions) == 0 {
		return 0, nil
	}
	return versions[len(versions)-1].Version, nil
}

// quiet keeps River's migrator from logging each step at info level; cspm
// reports the totals itself.
func quiet(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		logger = slog.Default()
	}
	return slog.New(levelFloor{logger.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Options configures a Client.
type Options struct {
	// Workers registers the job kinds this process works. Nil makes an
	// insert-only client (`cspm serve --no-workers`).
	Workers *river.Workers
	// Concurrency is how many jobs this process works at once.
	Concurrency int
	// PeriodicJobs are scheduled by whichever process is River's leader.
	PeriodicJobs []*river.PeriodicJob
	// Queues adds queues beside the default one, with how many of their
	// jobs this process works at once (a queue per scanning tool).
	Queues map[string]int
	// QueueFetchCooldown is the shortest wait between two fetches of an
	// added queue: how soon a freed slot takes the next job. Zero is the
	// default queue's 50 ms.
	QueueFetchCooldown time.Duration
	// RescueStuckJobsAfter is how long a job may run before River presumes
	// its worker died and runs it again; it must exceed every job's timeout.
	RescueStuckJobsAfter time.Duration
	// ID names this process in River's job rows (attempted_by); defaults to host-pid.
	ID     string
	Logger *slog.Logger
}

// QueueDefault is the queue every job goes to unless a kind says otherwise.
const QueueDefault = river.QueueDefault

// New builds a River client on the orchestration database.
func New(reg *db.Registry, opts Options) (*Client, error) {
	d := reg.Get(db.Orchestration)
	if opts.ID == "" {
		opts.ID = DefaultID()
	}
	cfg := &river.Config{
		ID:     opts.ID,
		Logger: quiet(opts.Logger),
		Schema: d.Schema,
		// Neither driver here has LISTEN/NOTIFY, so workers poll. A quarter
		// second costs a few cheap queries a second and keeps queue latency low.
		FetchPollInterval: 250 * time.Millisecond,
		FetchCooldown:     50 * time.Millisecond,
	}
	if opts.Workers != nil {
		cfg.PeriodicJobs = opts.PeriodicJobs
		if opts.Concurrency <= 0 {
			opts.Concurrency = 10
		}
		cfg.Workers = opts.Workers
		cfg.Queues = map[string]river.QueueConfig{QueueDefault: {MaxWorkers: opts.Concurrency}}
		for name, n := range opts.Queues {
			cfg.Queues[name] = river.QueueConfig{MaxWorkers: max(n, 1), FetchCooldown: opts.QueueFetchCooldown}
		}
	}
	cfg.RescueStuckJobsAfter = opts.RescueStuckJobsAfter
	if r := opts.RescueStuckJobsAfter; r > 0 && r < time.Minute {
		// River wants the default job timeout (a minute) under the rescue
		// delay; a delay this short is a test's, whose quick jobs fit half.
		cfg.JobTimeout = r / 2
	}
	return river.NewClient(driverFor(d), cfg)
}

// DefaultID names a process by host and PID, so an operator reading
// river_job.attempted_by knows which machine worked a job.
func DefaultID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
