package app

import (
	"context"
	"errors"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/bia"
	"github.com/offloadsecurity/cspm/internal/db"
)

// teamUsers answers the BIA service's question about owners from the user store.
type teamUsers struct{ users *auth.UserStore }

// TeamUser reports whether userID is an enabled user of the team.
func (u teamUsers) TeamUser(ctx context.Context, teamID, userID string) (string, bool, error) {
	usr, err := u.users.UserGet(ctx, teamID, userID)
	if errors.Is(err, db.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return usr.Email, !usr.Disabled, nil
}

// buildBIA builds business impact analysis; it needs the user store (owners).
func (a *App) buildBIA() {
	a.BIA = bia.New(a.Registry, bia.Options{Users: teamUsers{a.Auth.Users()}, Audit: audit.New(a.Registry, a.Logger), Logger: a.Logger,
		Findings: bia.NewStoreSources(a.Registry), KEV: bia.NewStoreSources(a.Registry),
		OnChange:        func(ctx context.Context, teamID string) { a.queueTierSync(ctx, teamID, false) },
		RefreshExposure: a.queueExposureRefresh})
	a.wireBusinessTiers()
}

// queueExposureRefresh queues the background refresh of a team's BIA
// analytics exposure; a failure is logged, and the next request asks again.
func (a *App) queueExposureRefresh(ctx context.Context, teamID string) {
	if a.Queue == nil {
		return
	}
	if _, err := a.Queue.Insert(ctx, bia.RefreshExposureArgs{TeamID: teamID}, nil); err != nil {
		a.Logger.Warn("queue a BIA exposure refresh", "team_id", teamID, "err", err)
	}
}

// addBIAWorkers registers the jobs of business impact analysis beyond the
// periodic archive: the exposure refresh and the business tier sync.
func (a *App) addBIAWorkers(w *river.Workers) {
	river.AddWorker(w, &bia.RefreshExposureWorker{Service: func() *bia.Service { return a.BIA }})
	river.AddWorker(w, &businessTierSyncWorker{app: a})
}
