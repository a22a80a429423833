// Package knowledge is the seed's KnowledgeBaseService: a team's security
// policies as documents, cut into chunks that keep their section path,
// searched by full text and vector similarity fused by reciprocal rank, and
// answered through the team's chat provider (internal/llm) with the
// passages cited. Everything lives in the knowledge_base logical database
// and every query takes a team.
package knowledge

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/llm"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// DefaultMinSimilarity is the cosine similarity a vector match needs to
// count: unrelated text scores about 0.1 with common embedding models.
const DefaultMinSimilarity = 0.2

// DefaultMaxBytes is the largest document accepted unless configured.
const DefaultMaxBytes = 20 << 20

var (
	// ErrTooLarge means an upload exceeds the size limit; nothing was kept.
	ErrTooLarge = errors.New("document too large")
	// ErrInvalid means a request the knowledge base cannot take as it is.
	ErrInvalid = errors.New("invalid request")
	// ErrNotConfigured means the team has no provider for what was asked.
	ErrNotConfigured = errors.New("no provider configured")
)

// Queue inserts River jobs (the app's queue client).
type Queue interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Service is the knowledge base.
type Service struct {
	d        *db.DB
	queue    Queue
	box      *secrets.Box
	audit    *audit.Log
	logger   *slog.Logger
	now      func() time.Time
	maxBytes int64
	minSim   float32
	metrics  *llm.Metrics
	http     *http.Client
	// vecs holds each searched team's vectors in memory (vecindex.go).
	vecs vecCache
	// newChat and newEmbedder build provider clients; tests may replace them.
	newChat     func(llm.Config) (llm.Chat, error)
	newEmbedder func(llm.Config) (llm.Embedder, error)
}

// Options are the service's dependencies. Audit may be nil in tests; Box
// is required to store provider keys.
type Options struct {
	Queue    Queue
	Box      *secrets.Box
	Audit    *audit.Log
	Logger   *slog.Logger
	Now      func() time.Time
	MaxBytes int64
	// HTTPClient carries every provider request (nil: a default client).
	HTTPClient *http.Client
	// Embedder, when set, replaces the team's embedding provider: for
	// tests and benchmarks with a deterministic local embedder.
	Embedder func(llm.Config) (llm.Embedder, error)
	// Metrics, when set, count provider requests, tokens and latency.
	Metrics *llm.Metrics
	// MinSimilarity is the cosine below which a vector match is not
	// relevant at all (default DefaultMinSimilarity).
	MinSimilarity float32
	// Chat, when set, replaces the team's chat provider in the same way.
	Chat func(llm.Config) (llm.Chat, error)
}

// New returns the service on reg's knowledge_base database.
func New(reg *db.Registry, o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MinSimilarity <= 0 {
		o.MinSimilarity = DefaultMinSimilarity
	}
	s := &Service{minSim: o.MinSimilarity, metrics: o.Metrics, d: reg.Get(db.KnowledgeBase), queue: o.Queue, box: o.Box, audit: o.Audit, logger: o.Logger, now: o.Now,
		maxBytes: o.MaxBytes, http: o.HTTPClient, newChat: o.Chat, newEmbedder: o.Embedder}
	if s.newChat == nil {
		s.newChat = llm.NewChat
	}
	if s.newEmbedder == nil {
		s.newEmbedder = llm.NewEmbedder
	}
	return s
}

// MaxBytes is the upload size limit.
func (s *Service) MaxBytes() int64 { return s.maxBytes }

// record writes an audit event when the service has a log.
func (s *Service) record(ctx context.Context, actor audit.Event, teamID, action, targetType, targetID string, details map[string]any) {
	if s.audit == nil {
		return
	}
	e := actor
	e.TeamID, e.Action, e.TargetType, e.TargetID, e.Details = teamID, action, targetType, targetID, details
	if err := s.audit.Record(ctx, e); err != nil {
		s.logger.Warn("audit of a knowledge base change failed", "action", action, "err", err)
	}
}

// embed calls the embedder and records the request; model is the team's
// model key ("provider:model").
func (s *Service) embed(ctx context.Context, e llm.Embedder, model string, texts []string) ([][]float32, error) {
	provider, name, _ := strings.Cut(model, ":")
	start := time.Now()
	vecs, err := e.Embed(ctx, texts)
	s.metrics.Observe(provider, name, "embedding", time.Since(start), llm.Usage{}, err)
	return vecs, err
}
