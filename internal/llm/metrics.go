package llm

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the providers are asked and how long they take:
// cspm_llm_requests_total{provider,model,kind,outcome},
// cspm_llm_tokens_total{provider,model,direction} and
// cspm_llm_request_seconds{provider,kind}. kind is chat or embedding.
type Metrics struct {
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// NewMetrics makes the collectors; register them with Collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cspm_llm_requests_total",
			Help: "Requests to language-model providers, by outcome (ok or error)."}, []string{"provider", "model", "kind", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cspm_llm_tokens_total",
			Help: "Tokens the chat providers reported, input and output."}, []string{"provider", "model", "direction"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cspm_llm_request_seconds",
			Help:    "Latency of provider requests, retries included.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"provider", "kind"}),
	}
}

// Collectors returns the collectors to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.tokens, m.seconds}
}

// Observe records one request. A nil Metrics records nothing.
func (m *Metrics) Observe(provider, model, kind string, took time.Duration, usage Usage, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.requests.WithLabelValues(provider, model, kind, outcome).Inc()
	m.seconds.WithLabelValues(provider, kind).Observe(took.Seconds())
	if usage.InputTokens > 0 {
		m.tokens.WithLabelValues(provider, model, "input").Add(float64(usage.InputTokens))
	}
	if usage.OutputTokens > 0 {
		m.tokens.WithLabelValues(provider, model, "output").Add(float64(usage.OutputTokens))
	}
}
