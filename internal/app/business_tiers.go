package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// businessTierSyncArgs rewrites the business tiers of a team's findings and
// vulnerability occurrences from its business impact analyses
// (internal/tiers). The BIA service queues one after every change; the
// importer queues a forced one when the analyses changed while it wrote;
// the periodic run (no team) catches whatever a lost job missed, and costs
// one read per team whose tiers are current.
type businessTierSyncArgs struct {
	TeamID string `json:"team_id,omitempty"`
	Force  bool   `json:"force,omitempty"`
}

func (businessTierSyncArgs) Kind() string { return "business_tier_sync" }

type businessTierSyncWorker struct {
	river.WorkerDefaults[businessTierSyncArgs]
	app *App
}

// Work syncs one team; the periodic run (no team) queues one job per team,
// so that a large team's sync neither delays the others nor shares their
// timeout.
func (w *businessTierSyncWorker) Work(ctx context.Context, job *river.Job[businessTierSyncArgs]) error {
	a := w.app
	if job.Args.TeamID == "" {
		teams, err := a.Teams.TeamIDs(ctx)
		if err != nil {
			return err
		}
		var errs []error
		for _, teamID := range teams {
			if _, err := a.Queue.Insert(ctx, businessTierSyncArgs{TeamID: teamID}, nil); err != nil {
				errs = append(errs, fmt.Errorf("team %s: %w", teamID, err))
			}
		}
		return errors.Join(errs...)
	}
	n, m, err := a.syncBusinessTiers(ctx, job.Args.TeamID, job.Args.Force)
	if n+m > 0 {
		a.Logger.Info("business tiers synced", "team_id", job.Args.TeamID, "findings", n, "occurrences", m)
	}
	return err
}

// Timeout bounds one team's sync: a pass over a million findings and the
// rewrite of those whose tier changed.
func (w *businessTierSyncWorker) Timeout(*river.Job[businessTierSyncArgs]) time.Duration {
	return 30 * time.Minute
}

// maxTierPasses bounds the passes of one sync while the analyses keep
// changing under it; the job queued by the latest change finishes the work.
const maxTierPasses = 5

// syncBusinessTiers applies the team's current map to both stores, and
// again, forced, while the analyses changed during the pass: two syncs
// running at once (or a sync and an import) each write only what they read
// (the stores' updates name the tier they read), so the one that saw the
// older map would leave its tiers behind; the pass after it, with the
// newer map, puts them right.
func (a *App) syncBusinessTiers(ctx context.Context, teamID string, force bool) (findings, occurrences int, err error) {
	for range maxTierPasses {
		m, err := a.BIA.BusinessTiers(ctx, teamID)
		if err != nil {
			return findings, occurrences, err
		}
		n, err := a.Findings.SyncBusinessTiers(ctx, teamID, m, force)
		findings += n
		if err != nil {
			return findings, occurrences, err
		}
		n, err = a.Vulns.SyncBusinessTiers(ctx, teamID, m, force)
		occurrences += n
		if err != nil {
			return findings, occurrences, err
		}
		after, err := a.BIA.BusinessTiers(ctx, teamID)
		if err != nil || after.Revision == m.Revision {
			return findings, occurrences, err
		}
		force = true
	}
	return findings, occurrences, nil
}

// wireBusinessTiers connects the BIA service to the stores that carry its
// tiers; it runs once the BIA service and the queue exist.
func (a *App) wireBusinessTiers() {
	a.Findings.Tiers, a.Vulns.Tiers = a.BIA, a.BIA
	a.Findings.TiersStale = func(ctx context.Context, teamID string) { a.queueTierSync(ctx, teamID, true) }
	a.Vulns.TiersStale, a.Vulns.Logger = a.Findings.TiersStale, a.Logger
}

// queueTierSync queues a sync of the team; a failure is logged, and the
// periodic run makes up for it.
func (a *App) queueTierSync(ctx context.Context, teamID string, force bool) {
	if a.Queue == nil {
		return
	}
	if _, err := a.Queue.Insert(ctx, businessTierSyncArgs{TeamID: teamID, Force: force}, nil); err != nil {
		a.Logger.Warn("queue a business tier sync", "team_id", teamID, "err", err)
	}
}
