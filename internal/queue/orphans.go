package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/db"
)

// RescueOrphans makes jobs that a dead process on this host was running
// available again, as a worker starts. A process killed with SIGKILL (or a
// machine that lost power) leaves its jobs "running"; River's own rescuer
// gives them back only after each job's timeout and rescue delay (an hour
// for a SubJob or an import), and meanwhile a scan run waits and blocks
// the next scan of its account. A job names its worker as host-PID
// (DefaultID): one of this host whose PID is no longer alive is an orphan.
// Jobs of other hosts are left to River's rescuer, which needs no guess.
func RescueOrphans(ctx context.Context, reg *db.Registry, client *Client) (int, error) {
	host, err := os.Hostname()
	if err != nil {
		return 0, fmt.Errorf("hostname: %w", err)
	}
	self := DefaultID()
	d := reg.Get(db.Orchestration)
	rescued := 0
	params := river.NewJobListParams().States(rivertype.JobStateRunning).First(1000)
	for {
		res, err := client.JobList(ctx, params)
		if err != nil {
			return rescued, fmt.Errorf("list running jobs: %w", err)
		}
		for _, job := range res.Jobs {
			if len(job.AttemptedBy) == 0 {
				continue
			}
			worker := job.AttemptedBy[len(job.AttemptedBy)-1]
			if worker == self || !deadLocalProcess(host, worker) {
				continue
			}
			n, err := d.ExecContext(ctx, "UPDATE river_job SET state = 'available', scheduled_at = $1 WHERE id = $2 AND state = 'running'",
				time.Now().UTC(), job.ID)
			if err != nil {
				return rescued, fmt.Errorf("rescue job %d: %w", job.ID, err)
			}
			if k, _ := n.RowsAffected(); k > 0 {
				rescued++
			}
		}
		if res.LastCursor == nil || len(res.Jobs) < 1000 {
			return rescued, nil
		}
		params = params.After(res.LastCursor)
	}
}

// deadLocalProcess reports whether worker names a process of this host
// that no longer runs.
func deadLocalProcess(host, worker string) bool {
	pidText, ok := strings.CutPrefix(worker, host+"-")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	// Signal 0 checks that the process exists; EPERM means it does, as
	// another user's.
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
