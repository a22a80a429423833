package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// Every periodic job, enqueued once by hand, completes on its first
// attempt on every engine. A job that panics or fails (session_cleanup
// once took a nil auth service) lands in retryable and fails this test,
// whatever its schedule.
func TestEveryPeriodicJobRunsOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnvWithWorkers(t, reg, nil)
		ctx := context.Background()
		jobs := app.PeriodicJobs()
		if len(jobs) < 5 {
			t.Fatalf("only %d periodic jobs listed", len(jobs))
		}
		for _, j := range jobs {
			t.Run(j.Args.Kind(), func(t *testing.T) {
				res, err := e.app.Queue.Insert(ctx, j.Args, nil)
				if err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(30 * time.Second)
				for {
					job, err := e.app.Queue.JobGet(ctx, res.Job.ID)
					if err != nil {
						t.Fatal(err)
					}
					switch job.State {
					case rivertype.JobStateCompleted:
						return
					case rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
						t.Fatalf("%s ended %s: %+v", j.Args.Kind(), job.State, job.Errors)
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s still %s after 30 s", j.Args.Kind(), job.State)
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
	})
}
