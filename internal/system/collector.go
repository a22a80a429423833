package system

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offloadsecurity/cspm/internal/queue"
)

var (
	jobsDesc = prometheus.NewDesc("cspm_queue_jobs", "Jobs in River's queue by state.", []string{"state"}, nil)
	ageDesc  = prometheus.NewDesc("cspm_queue_oldest_available_seconds",
		"Age of the oldest job waiting for a worker; alert when it keeps growing.", nil, nil)
	upDesc = prometheus.NewDesc("cspm_queue_up", "1 when River's tables answered the last scrape.", nil, nil)
)

type queueCollector struct{ s *Service }

// QueueCollector exports the queue's backlog to Prometheus at scrape time.
func (s *Service) QueueCollector() prometheus.Collector { return queueCollector{s} }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- ageDesc
	ch <- upDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h := queue.CheckHealth(ctx, c.s.registry)
	up := 0.0
	if h.Reachable {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up)
	for _, state := range []string{"available", "pending", "running", "retryable", "scheduled", "completed", "cancelled", "discarded"} {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(h.Jobs[state]), state)
	}
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, h.OldestAvailableSeconds)
}
