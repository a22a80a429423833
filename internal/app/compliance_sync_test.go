package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// An uploaded report queues a compliance sync of exactly the checks it
// touched, once its import has committed, and the sync runs.
func TestAnImportQueuesAComplianceSyncOfItsChecks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnvWithWorkers(t, reg, nil)
		teamID := e.team("acme").ID
		analyst := e.tokenClient(e.user(teamID, rbac.SecurityAnalyst).Email)
		status, body := analyst.upload("/api/v1/imports", "prowler.ocsf.json", sampleFile(t, "prowler/example_output_aws.ocsf.json"))
		if status != 202 {
			t.Fatalf("upload = %d %s", status, body)
		}
		scanID := decode[struct {
			ScanID string `json:"scan_id"`
		}](t, body).ScanID
		if rec := waitImport(t, analyst, scanID); rec.Status != "completed" {
			t.Fatalf("import = %+v", rec)
		}
		ctx := context.Background()
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := e.app.Queue.JobList(ctx, river.NewJobListParams().Kinds(compliance.SyncArgs{}.Kind()).First(10))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Jobs) == 1 && res.Jobs[0].State == rivertype.JobStateCompleted {
				var args compliance.SyncArgs
				if err := json.Unmarshal(res.Jobs[0].EncodedArgs, &args); err != nil {
					t.Fatal(err)
				}
				if args.TeamID != teamID || args.Full || len(args.Checks) == 0 || !slices.IsSorted(args.Checks) ||
					!slices.Contains(args.Checks, "accessanalyzer_enabled") {
					t.Fatalf("sync args %+v", args)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("compliance sync jobs after the import: %+v", res.Jobs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
