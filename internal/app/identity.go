package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/bia"
	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/orchestration"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/secrets"
	"github.com/offloadsecurity/cspm/internal/team"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// loadSecretBox opens the key that seals secrets at rest (TOTP secrets,
// cloud credentials).
func (a *App) loadSecretBox() error {
	keyFile := a.Config.SecretKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(a.Config.DataDir, "secret.key")
	}
	key, err := secrets.LoadKey(a.Config.SecretKey, keyFile)
	if err != nil {
		return err
	}
	a.box, err = secrets.NewBox(key)
	return err
}

// redisKeyPrefix namespaces every key cspm writes to a shared Redis.
const redisKeyPrefix = "cspm:"

func (a *App) buildAuth(ctx context.Context) error {
	a.Teams = team.NewStore(a.Registry)
	a.Audit = audit.New(a.Registry, a.Logger)

	var (
		sessions auth.SessionStore = auth.NewSQLSessionStore(a.Registry)
		lockouts auth.LockoutStore = auth.NewSQLLockoutStore(a.Registry)
	)
	if a.Config.RedisURL != "" {
		opts, err := redis.ParseURL(a.Config.RedisURL)
		if err != nil {
			return fmt.Errorf("CSPM_REDIS_URL: not a valid Redis URL")
		}
		a.Redis = redis.NewClient(opts)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := a.Redis.Ping(pctx).Err(); err != nil {
			return fmt.Errorf("cannot connect to Redis at %s: %w", opts.Addr, err)
		}
		sessions = auth.NewRedisSessionStore(a.Redis, redisKeyPrefix, a.Config.SessionIdleTimeout)
		lockouts = auth.NewRedisLockoutStore(a.Redis, redisKeyPrefix)
	}
	var err error
	a.Auth, err = auth.NewService(auth.Options{
		Registry: a.Registry, Sessions: sessions, Lockouts: lockouts, Hasher: auth.NewHasher(a.Config.PasswordHashConcurrency),
		Box: a.box, Audit: a.Audit, Teams: a.Teams, Logger: a.Logger,
		Lockout: auth.LockoutPolicy{MaxFailures: a.Config.MaxFailedLoginAttempts, Window: a.Config.LoginFailureWindow,
			LockFor: a.Config.LoginLockout, MaxFailuresPerAddress: a.Config.MaxFailedLoginsPerAddress},
		IdleTimeout: a.Config.SessionIdleTimeout, MaxAge: a.Config.SessionMaxAge, CookieSecure: a.Config.CookieSecure,
	})
	return err
}

// BootstrapAdminEmail is the first administrator of a fresh install.
const BootstrapAdminEmail = "admin@cspm.local"

// Bootstrap creates a first team and ADMIN on an install with no teams and
// returns the admin's one-time password; on any other install it does
// nothing and returns "". Concurrent starts race on the unique team name,
// and only the winner creates the admin.
func (a *App) Bootstrap(ctx context.Context) (email, password string, err error) {
	n, err := a.Teams.TeamCount(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	t, err := a.Teams.TeamCreate(ctx, "Default")
	if errors.Is(err, db.ErrConflict) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	_, pw, err := a.Auth.UserCreate(ctx, nil, t.ID, auth.UserCreateRequest{Email: BootstrapAdminEmail, Role: rbac.Admin})
	if err != nil {
		return "", "", err
	}
	return BootstrapAdminEmail, pw, nil
}

// sessionCleanupArgs is the periodic job that deletes expired sessions.
type sessionCleanupArgs struct{}

func (sessionCleanupArgs) Kind() string { return "session_cleanup" }

// muteExpiryArgs is the periodic job that unmutes findings whose mute expired.
type muteExpiryArgs struct{}

func (muteExpiryArgs) Kind() string { return "mute_expiry" }

// maintenanceWorker runs one periodic clean-up and logs what it did.
type maintenanceWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	logger *slog.Logger
	what   string
	run    func(context.Context) (int, error)
}

func (w *maintenanceWorker[T]) Work(ctx context.Context, _ *river.Job[T]) error {
	n, err := w.run(ctx)
	if err == nil && n > 0 {
		w.logger.Info(w.what, "count", n)
	}
	return err
}

// PeriodicJob is one job the River leader enqueues on a schedule.
type PeriodicJob struct {
	Every time.Duration
	Args  river.JobArgs
	// RunOnStart enqueues it when a process becomes leader, as well as on
	// schedule.
	RunOnStart bool
}

// PeriodicJobs lists every periodic job; periodicJobs schedules exactly
// these, and a test runs each of them once on every engine.
func PeriodicJobs() []PeriodicJob {
	return []PeriodicJob{
		{Every: 5 * time.Minute, Args: muteExpiryArgs{}, RunOnStart: true},
		{Every: 15 * time.Minute, Args: sessionCleanupArgs{}},
		// Hourly, not daily: the job itself decides from the stored state
		// whether the catalog is due, so restarts do not reset the clock.
		{Every: time.Hour, Args: vuln.EnrichmentArgs{}, RunOnStart: true},
		{Every: time.Hour, Args: artifactRetentionArgs{}, RunOnStart: true},
		{Every: 10 * time.Minute, Args: importReconcileArgs{}, RunOnStart: true},
		{Every: time.Minute, Args: orchestration.ScanSchedulesArgs{}, RunOnStart: true},
		// Hourly, for a daily snapshot: the job skips teams already synced today.
		{Every: compliance.SnapshotEvery, Args: compliance.SnapshotArgs{}, RunOnStart: true},
		{Every: bia.ArchiveOverdueEvery, Args: bia.ArchiveOverdueArgs{}, RunOnStart: true},
		// Business tiers of every team whose analyses changed without a sync.
		{Every: time.Hour, Args: businessTierSyncArgs{}, RunOnStart: true},
		// Digests that are due, and deliveries a dead process left pending.
		{Every: notify.DigestEvery, Args: notify.DigestArgs{}, RunOnStart: true},
		{Every: time.Hour, Args: notifyWatchArgs{}, RunOnStart: true},
		// Every team's tickets against their subjects: the fallback for a
		// change whose own sync job was lost, and for lapsed acceptances.
		{Every: notify.TicketSyncEvery, Args: notify.TicketSyncArgs{}},
		// Imports whose process died between their commit and the work after it.
		{Every: 5 * time.Minute, Args: importOutboxArgs{}, RunOnStart: true},
		// Knowledge base documents a crash left queued or processing.
		{Every: knowledge.RecoverEvery, Args: knowledge.RecoverArgs{}, RunOnStart: true},
	}
}

func periodicJobs() []*river.PeriodicJob {
	var out []*river.PeriodicJob
	for _, j := range PeriodicJobs() {
		args := j.Args
		out = append(out, river.NewPeriodicJob(river.PeriodicInterval(j.Every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{RunOnStart: j.RunOnStart}))
	}
	return out
}

// importReconcileArgs fails uploads that no live job will import.
type importReconcileArgs struct{}

func (importReconcileArgs) Kind() string { return "import_reconcile" }

// artifactRetentionArgs deletes reports older than artifact_retention.
type artifactRetentionArgs struct{}

func (artifactRetentionArgs) Kind() string { return "artifact_retention" }

// expireArtifacts deletes scan and import reports older than the retention period.
func (a *App) expireArtifacts(ctx context.Context) (int, error) {
	if a.Config.ArtifactRetention <= 0 {
		return 0, nil
	}
	cutoff := time.Now().Add(-a.Config.ArtifactRetention)
	n, err := a.Orchestration.ExpireArtifacts(ctx, cutoff)
	if err != nil {
		return n, err
	}
	m, err := a.Scans.ExpireImportArtifacts(ctx, cutoff, a.Artifacts)
	return n + m, err
}

// importOutboxArgs does the work after an import's commit that a dead
// process left in the import outbox.
type importOutboxArgs struct{}

func (importOutboxArgs) Kind() string { return "import_outbox" }
