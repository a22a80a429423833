package app

import (
	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/llm"
)

// buildKnowledge builds the knowledge base; it needs the queue (documents
// are processed by jobs) and the secret box (provider keys).
func (a *App) buildKnowledge() {
	m := llm.NewMetrics()
	a.Metrics.Registry.MustRegister(m.Collectors()...)
	a.Knowledge = knowledge.New(a.Registry, knowledge.Options{Queue: a.Queue, Box: a.box, Audit: audit.New(a.Registry, a.Logger),
		Logger: a.Logger, MaxBytes: a.Config.KBMaxBytes, Metrics: m})
}

// addKnowledgeWorkers registers the knowledge base's jobs. The service is
// read when a job runs: workers are registered before it is built.
func (a *App) addKnowledgeWorkers(w *river.Workers) {
	svc := func() *knowledge.Service { return a.Knowledge }
	river.AddWorker(w, &knowledge.ProcessDocumentWorker{Service: svc})
	river.AddWorker(w, &knowledge.EmbedWorker{Service: svc})
	river.AddWorker(w, &knowledge.RecoverWorker{Service: svc})
}
