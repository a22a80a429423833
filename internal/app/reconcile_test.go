package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// An upload the history shows queued but that no job will import (its job
// was lost in a crash) is failed with a reason that says what to do; one
// whose job waits is left alone.
func TestReconcileFailsImportsNoJobWillFinish(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil) // no workers: an upload's job waits
		ctx := context.Background()
		tm := e.team("acme")
		analyst := e.tokenClient(e.user(tm.ID, rbac.SecurityAnalyst).Email)
		status, body := analyst.upload("/api/v1/imports", "report.xml", sampleFile(t, "zap/dvwa_baseline_dojo.xml"))
		if status != 202 {
			t.Fatalf("upload = %d %s", status, body)
		}
		waiting := decode[struct {
			ScanID string `json:"scan_id"`
		}](t, body).ScanID
		lost := nativescans.ScanResult{ID: id.New(), TeamID: tm.ID, ScanType: nativescans.TypeCode, Tool: "pending", Source: "import",
			Status: nativescans.StatusQueued, StartedAt: time.Now().Add(-2 * time.Minute)}
		if err := reg.Get(db.NativeScans).InTeam(ctx, tm.ID, func(q db.Querier) error {
			if err := nativescans.MirrorToUnifiedScanResults(ctx, q, &lost); err != nil {
				return err
			}
			// The waiting upload is as old: only its job tells them apart.
			_, err := q.ExecContext(ctx, "UPDATE scan_results SET started_at = $1 WHERE id = $2", time.Now().Add(-2*time.Minute).UTC(), waiting)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		n, err := e.app.Imports.Reconcile(ctx)
		if err != nil || n != 1 {
			t.Fatalf("reconciled %d (%v), want 1", n, err)
		}
		got, err := e.app.Scans.ScanResultGet(ctx, tm.ID, lost.ID)
		if err != nil || got.Status != nativescans.StatusFailed || !strings.Contains(got.Error, "upload the report again") {
			t.Fatalf("the lost import: %+v %v", got, err)
		}
		if got, _ := e.app.Scans.ScanResultGet(ctx, tm.ID, waiting); got.Status != nativescans.StatusQueued {
			t.Fatalf("the waiting import became %s", got.Status)
		}
	})
}
