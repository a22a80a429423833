package imports

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/nativescans"
)

// reconcileGrace spares an upload whose record is written and whose job is
// being inserted right now.
const reconcileGrace = time.Minute

// Reconcile fails the uploads that the history shows queued or running but
// that no live job will import: their job was discarded or cancelled, or
// is gone (a crash between the upload and its job, a job rescued after its
// only attempt). Without it such an import waits forever. An import is one
// transaction, so a failed one left nothing half-written; the report stays
// in the artifact store, and the reason says to upload it again.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	live := map[string]bool{}
	params := river.NewJobListParams().Kinds(ImportReportArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable,
			rivertype.JobStateScheduled, rivertype.JobStatePending).First(1000)
	for {
		res, err := s.Queue.JobList(ctx, params)
		if err != nil {
			return 0, fmt.Errorf("list import jobs: %w", err)
		}
		for _, job := range res.Jobs {
			var args ImportReportArgs
			if err := json.Unmarshal(job.EncodedArgs, &args); err == nil {
				live[args.ScanID] = true
			}
		}
		if len(res.Jobs) < 1000 {
			break
		}
		params = params.After(res.LastCursor)
	}
	d := s.Registry.Get(db.NativeScans)
	type stale struct{ id, team string }
	var orphans []stale
	cutoff := time.Now().Add(-reconcileGrace).UTC()
	err := d.AsSystem(ctx, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, team_id FROM scan_results WHERE source = 'import' AND status IN ($1, $2) AND started_at < $3`,
			nativescans.StatusQueued, nativescans.StatusRunning, cutoff)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var o stale
			if err := rows.Scan(&o.id, &o.team); err != nil {
				return err
			}
			if !live[o.id] {
				orphans = append(orphans, o)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	for _, o := range orphans {
		if err := d.InTeam(ctx, o.team, func(q db.Querier) error {
			_, err := q.ExecContext(ctx, `UPDATE scan_results SET status = $1, finished_at = $2,
				error = 'the import stopped without recording its findings (the server stopped?); nothing of it was kept: upload the report again'
				WHERE team_id = $3 AND id = $4 AND status IN ($5, $6)`,
				nativescans.StatusFailed, now, o.team, o.id, nativescans.StatusQueued, nativescans.StatusRunning)
			return err
		}); err != nil {
			return 0, err
		}
	}
	return len(orphans), nil
}
