// Package system answers what operators and the login page ask of a running
// process: is it alive, is it ready, which version and engine, and is the
// job queue healthy.
package system

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/queue"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/scanner"
	"github.com/offloadsecurity/cspm/internal/version"
)

// Service reports the health of this process.
type Service struct {
	registry         *db.Registry
	workersInProcess bool
	startedAt        time.Time
	logger           *slog.Logger
	draining         atomic.Bool
	checks           map[string]func(context.Context) error
	// Tools, when set, lists the scanning tools on this process's machine
	// (the scanner inventory); ShowTools says whether a request may see
	// them (signed-in callers: paths and versions describe the machine).
	Tools     func(context.Context) []scanner.ToolStatus
	ShowTools func(context.Context) bool
	// Workers reads what each worker process reported of its scanners.
	Workers func(context.Context) ([]scanner.WorkerReport, error)
}

// AddCheck adds a dependency to readiness, such as Redis.
func (s *Service) AddCheck(name string, fn func(context.Context) error) {
	if s.checks == nil {
		s.checks = map[string]func(context.Context) error{}
	}
	s.checks[name] = fn
}

// New returns a Service. workersInProcess says whether this process runs River workers.
func New(reg *db.Registry, workersInProcess bool, logger *slog.Logger) *Service {
	return &Service{registry: reg, workersInProcess: workersInProcess, startedAt: time.Now(), logger: logger}
}

// Drain makes /readyz answer 503 so that load balancers stop sending new
// requests while in-flight ones finish.
func (s *Service) Drain() { s.draining.Store(true) }

// DatabaseInfo describes one logical database.
type DatabaseInfo struct {
	Name          string `json:"name" doc:"Logical database name."`
	Engine        string `json:"engine" enum:"sqlite,postgres" doc:"Engine behind it."`
	SchemaVersion int    `json:"schema_version" doc:"Highest applied migration."`
	Reachable     bool   `json:"reachable"`
}

// QueueInfo describes the job queue.
type QueueInfo struct {
	queue.Health
	WorkersInProcess   bool `json:"workers_in_process" doc:"Whether this process runs workers (false for serve --no-workers)."`
	RiverSchemaVersion int  `json:"river_schema_version" doc:"Highest applied River migration."`
}

// Status is the answer of GET /api/v1/system/status.
type Status struct {
	Version       version.Info           `json:"version"`
	Engine        string                 `json:"engine" enum:"sqlite,postgres,mixed" doc:"Database engine of the install."`
	Databases     []DatabaseInfo         `json:"databases"`
	Queue         QueueInfo              `json:"queue"`
	StartedAt     time.Time              `json:"started_at"`
	UptimeSeconds float64                `json:"uptime_seconds"`
	Tools         []scanner.ToolStatus   `json:"tools,omitempty" doc:"The scanning tools on this process's machine: found or not, path, version, the setting that names each, how to install it. Signed-in callers only. When this process runs no workers (queue.workers_in_process false), the workers' machines may differ: run cspm doctor there."`
	Workers       []scanner.WorkerReport `json:"workers,omitempty" doc:"What each worker process reported of its scanners in the last three minutes. Signed-in callers only."`
}

// StatusOutput wraps Status for huma.
type StatusOutput struct {
	Body Status
}

// Status collects the status of the process.
func (s *Service) Status(ctx context.Context) Status {
	st := Status{
		Version:       version.Get(),
		Engine:        s.registry.Engine(),
		StartedAt:     s.startedAt.UTC(),
		UptimeSeconds: time.Since(s.startedAt).Seconds(),
	}
	for _, name := range db.Names {
		d := s.registry.Get(name)
		info := DatabaseInfo{Name: string(name), Engine: string(d.Dialect)}
		v, err := d.Version(ctx)
		if err != nil {
			// Details go to the log, not to this unauthenticated answer.
			s.logger.Warn("database status", "database", name, "err", err)
		} else {
			info.SchemaVersion, info.Reachable = v, true
		}
		st.Databases = append(st.Databases, info)
	}
	st.Queue = QueueInfo{Health: queue.CheckHealth(ctx, s.registry), WorkersInProcess: s.workersInProcess}
	if st.Queue.Error != "" {
		s.logger.Warn("queue status", "err", st.Queue.Error)
		st.Queue.Error = "queue tables not reachable"
	}
	if v, err := queue.Version(ctx, s.registry); err == nil {
		st.Queue.RiverSchemaVersion = v
	}
	if s.Tools != nil && s.ShowTools != nil && s.ShowTools(ctx) {
		st.Tools = s.Tools(ctx)
		if s.Workers != nil {
			// A status page that cannot read the reports still answers.
			st.Workers, _ = s.Workers(ctx)
		}
	}
	return st
}

// Ready checks every database and the queue; the map names what failed.
func (s *Service) Ready(ctx context.Context) (bool, map[string]string) {
	checks := map[string]string{}
	ok := true
	if s.draining.Load() {
		checks["process"] = "shutting down"
		ok = false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for name, err := range s.registry.Ping(ctx) {
		if err != nil {
			s.logger.Warn("readiness: database unreachable", "database", name, "err", err)
			checks[string(name)] = "unreachable"
			ok = false
		} else {
			checks[string(name)] = "ok"
		}
	}
	for name, fn := range s.checks {
		if err := fn(ctx); err != nil {
			s.logger.Warn("readiness: dependency unreachable", "dependency", name, "err", err)
			checks[name] = "unreachable"
			ok = false
		} else {
			checks[name] = "ok"
		}
	}
	if h := queue.CheckHealth(ctx, s.registry); !h.Reachable {
		s.logger.Warn("readiness: queue unreachable", "err", h.Error)
		checks["queue"] = "unreachable"
		ok = false
	} else {
		checks["queue"] = "ok"
	}
	return ok, checks
}

// RegisterRoutes adds the health, readiness, metrics and status routes.
func (s *Service) RegisterRoutes(r *httpapi.Router, metrics *httpapi.Metrics) {
	r.Handle(http.MethodGet, "/healthz", rbac.Public, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}))
	r.Handle(http.MethodGet, "/readyz", rbac.Public, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ok, checks := s.Ready(req.Context())
		status, word := http.StatusOK, "ready"
		if !ok {
			status, word = http.StatusServiceUnavailable, "not ready"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": word, "checks": checks})
	}))
	r.Handle(http.MethodGet, "/metrics", rbac.Public, metrics.Handler())
	httpapi.Register(r, huma.Operation{
		OperationID: "get-system-status",
		Method:      http.MethodGet,
		Path:        "/api/v1/system/status",
		Summary:     "Version, database engine, queue health and scanning tools",
		Description: "What the status page shows: the build, the engine and schema version of each logical database, the job queue's backlog, " +
			"and, for signed-in callers, the scanning tools this process finds (versions are read at most once a minute).",
		Tags: []string{"System"},
	}, rbac.Public, func(ctx context.Context, _ *struct{}) (*StatusOutput, error) {
		return &StatusOutput{Body: s.Status(ctx)}, nil
	})
}
