package vuln_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// The periodic enrichment job downloads KEV and EPSS from local servers
// speaking like CISA's and FIRST's, and does not download again while the
// stored copies are fresh.
func TestEnrichmentJob(t *testing.T) {
	t.Parallel()
	catalog := readFile(t, kevSample)
	var csv bytes.Buffer
	zw := gzip.NewWriter(&csv)
	_, _ = io.WriteString(zw, "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2020-15999,0.5,0.97\n")
	_ = zw.Close()
	var kevHits, epssHits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/epss.csv.gz" {
			epssHits.Add(1)
			_, _ = w.Write(csv.Bytes())
			return
		}
		kevHits.Add(1)
		_, _ = w.Write(catalog)
	}))
	defer srv.Close()
	vs := vuln.New(dbtest.Open(t, dbtest.Engines(t)[0]))
	w := &vuln.EnrichmentWorker{Service: vs, Logger: slog.New(slog.DiscardHandler), KEVURL: srv.URL + "/kev.json", KEVInterval: 24 * time.Hour,
		EPSSURL: srv.URL + "/epss.csv.gz", EPSSInterval: 24 * time.Hour}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := w.Work(ctx, &river.Job[vuln.EnrichmentArgs]{}); err != nil {
			t.Fatal(err)
		}
	}
	if kevHits.Load() != 1 || epssHits.Load() != 1 {
		t.Fatalf("downloads: KEV %d, EPSS %d; want one each", kevHits.Load(), epssHits.Load())
	}
	kev, _ := vs.KEVStatusGet(ctx)
	epss, _ := vs.EPSSStatusGet(ctx)
	if kev.Count != 1404 || epss.Count != 1 || epss.ModelVersion != "v2025.03.14" {
		t.Fatalf("KEV %+v, EPSS %+v", kev, epss)
	}
	// A day later both are due again.
	vuln.SetClock(vs, func() time.Time { return time.Now().Add(25 * time.Hour) })
	if err := w.Work(ctx, &river.Job[vuln.EnrichmentArgs]{}); err != nil {
		t.Fatal(err)
	}
	if kevHits.Load() != 2 || epssHits.Load() != 2 {
		t.Fatalf("after a day: KEV %d, EPSS %d", kevHits.Load(), epssHits.Load())
	}
}
