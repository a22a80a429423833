// Package app wires the services together: it opens the database registry,
// migrates it, builds every service, its routes and its workers, and runs and
// stops them. It is the one place that knows every service.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/bia"
	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/imports"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/orchestration"
	"github.com/offloadsecurity/cspm/internal/queue"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/secrets"
	"github.com/offloadsecurity/cspm/internal/system"
	"github.com/offloadsecurity/cspm/internal/team"
	"github.com/offloadsecurity/cspm/internal/vuln"
	"github.com/offloadsecurity/cspm/web"
)

// App is a running cspm process.
type App struct {
	Config        *config.Config
	Logger        *slog.Logger
	Registry      *db.Registry
	Queue         *queue.Client
	System        *system.Service
	Metrics       *httpapi.Metrics
	Router        *httpapi.Router
	Auth          *auth.Service
	Audit         *audit.Log
	Teams         *team.Store
	Redis         *redis.Client // nil unless CSPM_REDIS_URL is set
	Findings      *findings.Store
	Scans         *nativescans.Service
	Imports       *imports.Service
	Vulns         *vuln.Service
	Cloud         *cloud.Service
	Orchestration *orchestration.Service
	Compliance    *compliance.Service
	BIA           *bia.Service
	Knowledge     *knowledge.Service
	// Notify sends notifications and pushes tickets (internal/notify).
	Notify *notify.Service
	// Artifacts keeps raw reports: a local directory or an S3 bucket.
	Artifacts artifact.Store
	// Tools finds the scanning tools and reads their versions (the status
	// page and cspm doctor).
	Tools *scanner.Inventory

	box        *secrets.Box
	runWorkers bool
	// stopToolReports ends the loop that reports this worker's scanners.
	stopToolReports context.CancelFunc
}

// OpenRegistry opens every logical database where the configuration says.
func OpenRegistry(ctx context.Context, cfg *config.Config) (*db.Registry, error) {
	urls := map[db.Name]string{}
	for _, n := range db.Names {
		urls[n] = cfg.URLFor(n)
	}
	return db.Open(ctx, db.Options{DataDir: cfg.DataDir, URLs: urls})
}

// Migrate applies the application's and River's migrations.
func Migrate(ctx context.Context, reg *db.Registry, logger *slog.Logger) (int, error) {
	n, err := reg.Migrate(ctx)
	if err != nil {
		return n, err
	}
	m, err := queue.Migrate(ctx, reg, logger)
	return n + m, err
}

// Open builds the application: registry, migrations, services, routes and
// the River client (with workers when runWorkers is set).
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger, runWorkers bool) (*App, error) {
	reg, err := OpenRegistry(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a, err := New(ctx, cfg, logger, reg, runWorkers)
	if err != nil {
		_ = reg.Close()
		return nil, err
	}
	return a, nil
}

// New builds the application on an open registry, which it then owns.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, reg *db.Registry, runWorkers bool) (*App, error) {
	a := &App{Config: cfg, Logger: logger, Registry: reg, runWorkers: runWorkers}
	if err := a.build(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	start := time.Now()
	applied, err := Migrate(ctx, a.Registry, a.Logger)
	if err != nil {
		return err
	}
	a.Logger.Info("databases ready", "engine", a.Registry.Engine(), "migrations_applied", applied,
		"duration_ms", time.Since(start).Milliseconds())

	if err := a.loadSecretBox(); err != nil {
		return err
	}
	a.Findings = findings.NewStore(a.Registry)
	a.Vulns = vuln.New(a.Registry)
	a.Findings.Vulns, a.Findings.Logger = a.Vulns, a.Logger
	a.Scans = nativescans.New(a.Registry)
	artifactDir := a.Config.ArtifactDir
	if artifactDir == "" {
		artifactDir = filepath.Join(a.Config.DataDir, "artifacts")
	}
	var artifacts artifact.Store
	if c := a.Config; c.ArtifactS3Endpoint != "" {
		artifacts, err = artifact.NewS3(ctx, artifact.S3Config{Endpoint: c.ArtifactS3Endpoint, Region: c.ArtifactS3Region,
			Bucket: c.ArtifactS3Bucket, Prefix: c.ArtifactS3Prefix, AccessKey: c.ArtifactS3AccessKey, SecretKey: c.ArtifactS3SecretKey})
	} else {
		artifacts, err = artifact.NewLocal(artifactDir)
	}
	if err != nil {
		return err
	}
	a.Artifacts = artifacts
	a.Compliance = compliance.New(a.Registry, compliance.Options{Findings: a.Findings, Artifacts: artifacts,
		Audit: audit.New(a.Registry, a.Logger), Logger: a.Logger, Synced: a.complianceSynced})
	a.Imports = &imports.Service{Registry: a.Registry, Findings: a.Findings, Artifacts: artifacts, Logger: a.Logger,
		MaxBytes: a.Config.ImportMaxBytes}
	a.Cloud = cloud.New(a.Registry, a.box)
	a.Cloud.WorkerIdentityAllowed = a.workerIdentityAllowed
	a.Cloud.Statuses = a.accountStatuses
	a.Cloud.Endpoints = cloud.Endpoints{AWSEndpointURL: a.Config.AWSEndpointURL, AzureAuthorityHost: a.Config.AzureAuthorityHost,
		GCPTokenURL: a.Config.GCPTokenURL}
	if err := a.buildOrchestration(artifacts); err != nil {
		return err
	}

	opts := queue.Options{Logger: a.Logger, Concurrency: a.Config.WorkerConcurrency, PeriodicJobs: periodicJobs(),
		Queues: scanQueues(a.Config), RescueStuckJobsAfter: rescueAfter(a.Config),
		// A SubJob whose tool returns at once takes about 10 ms of
		// orchestration; at River's default 50 ms between fetches a slot
		// would wait four times as long as it works.
		QueueFetchCooldown: 5 * time.Millisecond}
	if a.runWorkers {
		opts.Workers = a.workers()
	}
	if a.Queue, err = queue.New(a.Registry, opts); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	a.Imports.Queue = a.Queue
	a.Orchestration.Queue = a.Queue
	// Every import and every scan's findings queue a compliance sync of the
	// checks they touched (the seed's AutonomousComplianceEngine).
	a.Imports.AfterImport = func(ctx context.Context, teamID string, checks []string) error {
		_, err := a.Queue.Insert(ctx, compliance.SyncArgs{TeamID: teamID, Checks: checks, Full: checks == nil}, nil)
		if err == nil {
			// BIA analytics' exposure, current before anyone asks.
			_, err = a.Queue.Insert(ctx, bia.RefreshExposureArgs{TeamID: teamID}, nil)
		}
		return err
	}
	a.Orchestration.ComplianceSync = func(ctx context.Context, tx *sql.Tx, teamID string, checks []string) error {
		return compliance.EnqueueSyncTx(ctx, tx, a.Queue, teamID, checks)
	}

	a.Metrics = httpapi.NewMetrics()
	for _, n := range db.Names {
		a.Metrics.Registry.MustRegister(collectors.NewDBStatsCollector(a.Registry.Get(n).DB, string(n)))
	}
	a.System = system.New(a.Registry, a.runWorkers, a.Logger)
	a.Metrics.Registry.MustRegister(a.System.QueueCollector())
	a.System.Tools = func(ctx context.Context) []scanner.ToolStatus { return a.Tools.Check(ctx, a.Orchestration.Tools) }
	a.System.ShowTools = func(ctx context.Context) bool { return auth.PrincipalFrom(ctx) != nil }
	a.System.Workers = a.Orchestration.WorkerReports

	if err := a.buildAuth(ctx); err != nil {
		return err
	}
	a.buildBIA()
	a.buildKnowledge()
	a.buildNotify()

	if a.Redis != nil {
		a.System.AddCheck("redis", func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() })
	}
	a.Router = httpapi.New(a.Logger, a.Metrics)
	a.Router.Use(a.Auth.Middleware)
	a.Router.SetAuthorizer(a.Auth.Authorize)
	a.System.RegisterRoutes(a.Router, a.Metrics)
	a.Auth.RegisterRoutes(a.Router, a.Audit)
	a.Imports.Audit = a.Audit
	a.Findings.Audit = a.Audit
	a.Findings.RegisterRoutes(a.Router)
	a.Findings.RegisterTriageRoutes(a.Router, a.Auth.Users())
	a.Vulns.Audit = a.Audit
	a.Vulns.RegisterRoutes(a.Router, a.Config.KEVURL)
	a.Scans.RegisterRoutes(a.Router)
	a.Cloud.Audit, a.Orchestration.Audit = a.Audit, a.Audit
	a.Cloud.RegisterRoutes(a.Router)
	a.Orchestration.RegisterRoutes(a.Router)
	a.Imports.RegisterRoutes(a.Router, a.Scans)
	a.Compliance.RegisterRoutes(a.Router, a.Queue)
	a.BIA.RegisterRoutes(a.Router)
	a.Knowledge.RegisterRoutes(a.Router)
	a.Notify.RegisterRoutes(a.Router)
	a.Notify.RegisterTicketRoutes(a.Router)
	a.Router.Handle("", "/", rbac.Public, web.Handler())
	return nil
}

// workerIdentityAllowed says whether worker_identity_teams names the team.
// The platform's own cloud identity is the operator's: a team that may use
// it may scan whatever that identity reaches.
func (a *App) workerIdentityAllowed(ctx context.Context, teamID string) bool {
	if a.Config.WorkerIdentityTeams == "" {
		return false
	}
	t, err := a.Teams.TeamGet(ctx, teamID)
	if err != nil {
		return false
	}
	for _, name := range strings.Split(a.Config.WorkerIdentityTeams, ",") {
		if strings.TrimSpace(name) == t.Name {
			return true
		}
	}
	return false
}

// workers registers every job kind this binary can work.
func (a *App) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &queue.ProbeWorker{Registry: a.Registry})
	// A closure, not the method value: workers() runs before buildAuth, and
	// a method value would bind the nil a.Auth of that moment.
	river.AddWorker(w, &maintenanceWorker[sessionCleanupArgs]{logger: a.Logger, what: "expired sessions removed",
		run: func(ctx context.Context) (int, error) { return a.Auth.CleanupExpiredSessions(ctx) }})
	river.AddWorker(w, &imports.ImportReportWorker{Service: a.Imports})
	river.AddWorker(w, &maintenanceWorker[muteExpiryArgs]{logger: a.Logger, what: "expired mutes and risk acceptances ended",
		run: func(ctx context.Context) (int, error) {
			n, err := a.Findings.ExpireMutes(ctx)
			if err != nil {
				return n, err
			}
			m, err := a.Vulns.ExpireAcceptances(ctx)
			return n + m, err
		}})
	river.AddWorker(w, &orchestration.ExecuteCloudScanWorker{Service: a.Orchestration})
	river.AddWorker(w, &orchestration.ExecuteScanWorker{Service: a.Orchestration})
	river.AddWorker(w, &orchestration.ScanSchedulesWorker{Service: a.Orchestration})
	river.AddWorker(w, &maintenanceWorker[artifactRetentionArgs]{logger: a.Logger, what: "expired artifacts deleted", run: a.expireArtifacts})
	river.AddWorker(w, &maintenanceWorker[importReconcileArgs]{logger: a.Logger, what: "imports no job will finish marked failed",
		run: func(ctx context.Context) (int, error) { return a.Imports.Reconcile(ctx) }})
	river.AddWorker(w, &compliance.SyncWorker{Service: a.Compliance})
	river.AddWorker(w, &compliance.SnapshotWorker{Service: a.Compliance,
		Teams: func(ctx context.Context) ([]string, error) { return a.Teams.TeamIDs(ctx) }})
	river.AddWorker(w, &bia.ArchiveOverdueWorker{Service: func() *bia.Service { return a.BIA }, Grace: a.Config.BIAReviewGrace,
		Teams: func(ctx context.Context) ([]string, error) { return a.Teams.TeamIDs(ctx) }})
	river.AddWorker(w, &vuln.EnrichmentWorker{Service: a.Vulns, Logger: a.Logger, KEVURL: a.Config.KEVURL, KEVInterval: a.Config.KEVSyncInterval,
		EPSSURL: a.Config.EPSSURL, EPSSInterval: a.Config.EPSSSyncInterval})
	a.addBIAWorkers(w)
	a.addKnowledgeWorkers(w)
	a.addNotifyWorkers(w)
	return w
}

// Close releases the databases and Redis.
func (a *App) Close() error {
	if a.Redis != nil {
		_ = a.Redis.Close()
	}
	return a.Registry.Close()
}

// Serve serves HTTP on ln (and works jobs, if the App was opened with
// workers) until ctx is done, then shuts down gracefully: /readyz turns 503,
// the listener closes, in-flight requests and jobs get ShutdownTimeout to
// finish, and only then are they cancelled.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Router.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	if err := a.startWorkers(); err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		a.stopWorkers()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.Logger.Info("shutting down", "timeout", a.Config.ShutdownTimeout)
	a.System.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	httpErr := srv.Shutdown(sctx)
	if errors.Is(httpErr, context.DeadlineExceeded) {
		a.Logger.Warn("in-flight requests did not finish in time; closing their connections")
		httpErr = srv.Close()
	}
	a.stopWorkers()
	a.Logger.Info("stopped")
	return httpErr
}

// Work runs workers only, until ctx is done (`cspm worker`).
func (a *App) Work(ctx context.Context) error {
	if err := a.startWorkers(); err != nil {
		return err
	}
	<-ctx.Done()
	a.Logger.Info("shutting down", "timeout", a.Config.ShutdownTimeout)
	a.stopWorkers()
	a.Logger.Info("stopped")
	return nil
}

func (a *App) startWorkers() error {
	if !a.runWorkers {
		return nil
	}
	// Jobs a killed process of this host left running are given back now,
	// not after River's rescue delay (an hour for a scan or an import).
	if n, err := queue.RescueOrphans(context.Background(), a.Registry, a.Queue); err != nil {
		a.Logger.Warn("rescuing jobs of dead processes failed; River's rescuer will", "err", err)
	} else if n > 0 {
		a.Logger.Info("rescued jobs of a dead process", "count", n)
	}
	// Workers get their own context: a signal must not cancel running jobs
	// at once, only stop them from taking new ones (see stopWorkers).
	if err := a.Queue.Start(context.Background()); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	a.Logger.Info("workers started", "id", a.Queue.ID(), "concurrency", a.Config.WorkerConcurrency)
	a.logMissingTools()
	a.startToolReports()
	return nil
}

// startToolReports writes what this worker finds of the scanners to the
// database now and every minute, for API processes that run no workers
// (orchestration.Service.ReportTools).
func (a *App) startToolReports() {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopToolReports = cancel
	go func() {
		t := time.NewTicker(orchestration.ToolReportEvery)
		defer t.Stop()
		for {
			if err := a.Orchestration.ReportTools(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("reporting this worker's scanners failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// logMissingTools tells the operator of a worker which scanners it lacks:
// their SubJobs fail at once here (and, in a process that also serves the
// API, scans that need them are refused).
func (a *App) logMissingTools() {
	var missing []string
	for _, t := range scanner.AllTools {
		if !scanner.Locate(a.Orchestration.Tools, t).Found {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		a.Logger.Warn("scanners missing on this machine: scans that need them cannot run here; 'cspm doctor' says how to install them",
			"missing", strings.Join(missing, ","))
	}
}

func (a *App) stopWorkers() {
	if !a.runWorkers {
		return
	}
	if a.stopToolReports != nil {
		a.stopToolReports()
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := a.Queue.Stop(ctx); err != nil {
		a.Logger.Warn("running jobs did not finish in time; cancelling them", "err", err)
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = a.Queue.StopAndCancel(cctx)
	}
}

// buildOrchestration builds the scan orchestrator and its runners.
func (a *App) buildOrchestration(artifacts artifact.Store) error {
	c := a.Config
	work, err := ScanWorkDir(c)
	if err != nil {
		return fmt.Errorf("scan work directory: %w", err)
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("scan work directory: %w", err)
	}
	o := orchestration.New(a.Registry)
	// A process that runs the workers refuses scans whose tool it lacks;
	// one without workers cannot see the workers' machines.
	o.CheckTools = a.runWorkers
	a.Tools = scanner.NewInventory()
	o.Cloud, o.Findings, o.Artifacts, o.Logger, o.WorkRoot, o.WorkerID = a.Cloud, a.Findings, artifacts, a.Logger, work, queue.DefaultID()
	o.Limits.Timeout, o.Limits.StallTimeout, o.Limits.MaxAttempts = c.ScanTimeout, c.ScanStallTimeout, c.ScanMaxAttempts
	o.Tools = ScannerConfig(c, work)
	a.Orchestration = o
	return nil
}

// ScanWorkDir is where SubJobs run: scan_work_dir, or data_dir/scan-work.
// Absolute, because a tool runs with its working directory set to its
// SubJob's directory and is told where to write by the same path: a
// relative one (the default ./data) would name a directory below itself.
func ScanWorkDir(c *config.Config) (string, error) {
	work := c.ScanWorkDir
	if work == "" {
		work = filepath.Join(c.DataDir, "scan-work")
	}
	return filepath.Abs(work)
}

// ScannerConfig is what the runners (and the tool inventory) need of the
// configuration; work is ScanWorkDir's answer.
func ScannerConfig(c *config.Config, work string) scanner.Config {
	return scanner.Config{ProwlerBin: c.ProwlerBin, ProwlerDockerImage: c.ProwlerDockerImage, DockerBin: c.DockerBin,
		ProwlerHostOutputDir: c.ProwlerHostOutputDir, WorkRoot: work, SteampipeBin: c.PowerpipeBin, NmapBin: c.NmapBin,
		WapitiBin: c.WapitiBin, TrivyBin: c.TrivyBin, GrypeBin: c.GrypeBin, WapitiMaxScanTime: c.WapitiMaxScanTime,
		WapitiModules: c.WapitiModules, CheckovBin: c.CheckovBin, OSVBin: c.OSVScannerBin, CodeRoots: splitList(c.CodeScanRoots)}
}

// splitList reads a comma-separated setting.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// scanQueues is a River queue per tool, each as wide as the tool's concurrency.
func scanQueues(c *config.Config) map[string]int {
	out := map[string]int{}
	for _, t := range scanner.AllTools {
		n := c.ScanConcurrency[t]
		if n <= 0 {
			n = 2
		}
		out[orchestration.ToolQueue(t)] = n
	}
	return out
}

// rescueAfter is how long a job may run before River presumes its worker
// died and runs it again. River also waits out each job's own timeout (a
// SubJob's is scan_timeout and a quarter; an import's an hour), so a healthy
// long job is never run twice; this bounds the jobs without one.
func rescueAfter(c *config.Config) time.Duration {
	if c.JobRescueAfter > 0 {
		return c.JobRescueAfter
	}
	return time.Hour
}
