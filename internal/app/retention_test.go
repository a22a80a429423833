package app_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
)

// An uploaded report is kept until the retention period has passed; then
// it is deleted and the import's history record stays.
func TestImportArtifactRetention(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		ctx := context.Background()
		tm := e.team("a")
		rec, err := e.app.Imports.Upload(ctx, tm.ID, "", "a@example.com", "report.json", "nuclei", nil, strings.NewReader("[]"))
		if err != nil {
			t.Fatal(err)
		}
		// The job is not running here: import it as the worker would.
		rc, err := e.app.Artifacts.Open(ctx, rec.ArtifactRef)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if _, err := e.app.Findings.Import(ctx, strings.NewReader("[]"), findings.ImportParams{TeamID: tm.ID, ScanID: rec.ID, Format: "nuclei", ArtifactRef: rec.ArtifactRef}); err != nil {
			t.Fatal(err)
		}
		if n, err := e.app.Scans.ExpireImportArtifacts(ctx, time.Now().Add(-time.Hour), e.app.Artifacts); err != nil || n != 0 {
			t.Fatalf("a fresh report expired: %d %v", n, err)
		}
		if n, err := e.app.Scans.ExpireImportArtifacts(ctx, time.Now().Add(time.Hour), e.app.Artifacts); err != nil || n != 1 {
			t.Fatalf("expired %d, %v", n, err)
		}
		if _, err := e.app.Artifacts.Open(ctx, rec.ArtifactRef); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the report is still there: %v", err)
		}
		got, err := e.app.Scans.ScanResultGet(ctx, tm.ID, rec.ID)
		if err != nil || got.ArtifactRef != "" || got.Status != "completed" {
			t.Fatalf("history after expiry: %+v %v", got, err)
		}
	})
}
