package vuln

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
)

// EnrichmentArgs is the hourly job that downloads the KEV catalog (and the
// EPSS scores, when configured) once the stored copy is older than its
// interval. It checks the database rather than trusting its own timer, so a
// restart neither skips nor repeats a day, and any worker may run it.
type EnrichmentArgs struct{}

// Kind names the job.
func (EnrichmentArgs) Kind() string { return "vuln_enrichment" }

// InsertOpts keeps one pending enrichment at a time.
func (EnrichmentArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// EnrichmentWorker runs EnrichmentArgs.
type EnrichmentWorker struct {
	river.WorkerDefaults[EnrichmentArgs]
	Service      *Service
	Logger       *slog.Logger
	KEVURL       string
	KEVInterval  time.Duration
	EPSSURL      string
	EPSSInterval time.Duration
}

// retryAfter spaces attempts after a failure.
const retryAfter = time.Hour

// Work syncs what is due. A failed download is recorded in the status
// (and audited) and not retried by River: the next hourly run tries again.
func (w *EnrichmentWorker) Work(ctx context.Context, _ *river.Job[EnrichmentArgs]) error {
	now := w.Service.now().UTC()
	system := audit.Event{ActorEmail: "system"}
	if w.KEVURL != "" {
		st, err := w.Service.KEVStatusGet(ctx)
		if err != nil {
			return err
		}
		if due(st.LastSync, st.LastAttempt, w.KEVInterval, now) {
			res, err := w.Service.EnrichWithKEV(ctx, KEVSource{URL: w.KEVURL}, system)
			if err != nil {
				w.Logger.Warn("KEV sync failed; the last good catalog stays", "error", err)
			} else {
				w.Logger.Info("KEV catalog synced", "version", res.CatalogVersion, "count", res.Count, "added", len(res.Added),
					"removed", len(res.Removed), "rescored", res.Rescored)
			}
		}
	}
	if w.EPSSURL != "" {
		st, err := w.Service.EPSSStatusGet(ctx)
		if err != nil {
			return err
		}
		if due(st.LastImport, st.LastAttempt, w.EPSSInterval, now) {
			if err := w.Service.DownloadEPSS(ctx, w.EPSSURL, system); err != nil {
				w.Logger.Warn("EPSS download failed; the last scores stay", "error", err)
			}
		}
	}
	return nil
}

func due(lastGood, lastAttempt *time.Time, interval time.Duration, now time.Time) bool {
	if lastGood != nil && now.Sub(*lastGood) < interval {
		return false
	}
	return lastAttempt == nil || now.Sub(*lastAttempt) >= retryAfter
}

// DownloadEPSS fetches the EPSS file and imports it.
func (s *Service) DownloadEPSS(ctx context.Context, url string, actor audit.Event) error {
	_, _ = s.d.ExecContext(ctx, `UPDATE epss_state SET last_attempt = $1 WHERE id = 1`, s.now().UTC())
	data, err := s.fetch(ctx, url, maxEPSSBytes)
	if err != nil {
		_, _ = s.d.ExecContext(ctx, `UPDATE epss_state SET last_error = $1 WHERE id = 1`, err.Error())
		return fmt.Errorf("EPSS download: %w", err)
	}
	_, err = s.ImportEPSS(ctx, bytes.NewReader(data), url, actor)
	return err
}
