package app

import (
	"context"
	"errors"
	"fmt"

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

func (w *businessTierSyncWorker) Work(ctx context.Context, job *river.Job[businessTierSyncArgs]) error {
	a := w.app
	teams := []string{job.Args.TeamID}
	if job.Args.TeamID == "" {
		var err error
		if teams, err = a.Teams.TeamIDs(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for _, teamID := range teams {
		n, m, err := a.syncBusinessTiers(ctx, teamID, job.Args.Force)
		if err != nil {
			errs = append(errs, fmt.Errorf("team %s: %w", teamID, err))
			continue
		}
		if n+m > 0 {
			a.Logger.Info("business tiers synced", "team_id", teamID, "findings", n, "occurrences", m)
		}
	}
	return errors.Join(errs...)
}

// syncBusinessTiers applies the team's current map to both stores.
func (a *App) syncBusinessTiers(ctx context.Context, teamID string, force bool) (findings, occurrences int, err error) {
	m, err := a.BIA.BusinessTiers(ctx, teamID)
	if err != nil {
		return 0, 0, err
	}
	if findings, err = a.Findings.SyncBusinessTiers(ctx, teamID, m, force); err != nil {
		return findings, 0, err
	}
	occurrences, err = a.Vulns.SyncBusinessTiers(ctx, teamID, m, force)
	return findings, occurrences, err
}

// wireBusinessTiers connects the BIA service to the stores that carry its
// tiers; it runs once the BIA service and the queue exist.
func (a *App) wireBusinessTiers() {
	a.Findings.Tiers, a.Vulns.Tiers = a.BIA, a.BIA
	a.Findings.TiersStale = func(ctx context.Context, teamID string) { a.queueTierSync(ctx, teamID, true) }
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
