package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/bia"
	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/imports"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/orchestration"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// buildNotify builds notifications and tickets; it needs the queue, and
// hooks itself where events happen: imports, scans' SubJobs, compliance
// syncs, and the hourly watch of SLAs and BIA reviews. The producers see
// only a function of theirs, never this package.
func (a *App) buildNotify() {
	a.Notify = notify.New(a.Registry, notify.Options{Box: a.box, Queue: a.Queue, Audit: audit.New(a.Registry, a.Logger), Logger: a.Logger,
		PublicURL: a.Config.PublicURL, AllowInsecure: a.Config.IntegrationsAllowInsecure, Subjects: ticketSubjects{a}})
	a.Vulns.Tickets = func(ctx context.Context, teamID, vulnID string) ([]vuln.TicketRef, error) {
		list, err := a.Notify.TicketList(ctx, teamID, "vulnerability", []string{vulnID})
		out := make([]vuln.TicketRef, 0, len(list))
		for _, t := range list {
			out = append(out, vuln.TicketRef{Key: t.Key, URL: t.URL, State: t.State, StatusName: t.StatusName, IntegrationKind: t.IntegrationKind})
		}
		return out, err
	}
	a.Findings.TicketLookup = a.findingTickets
	// Triage and status changes made by people queue the two-way ticket
	// sync once they committed; imports and scans queue it below.
	syncTickets := func(ctx context.Context, teamID string) {
		if err := a.Notify.EnqueueTicketSync(ctx, teamID); err != nil {
			a.Logger.Warn("queueing the ticket sync failed (the hourly sweep will do it)", "team_id", teamID, "err", err)
		}
	}
	a.Findings.Changed, a.Vulns.StatusChanged = syncTickets, syncTickets
	// Called after the import committed, from its outbox (see
	// imports.DrainOutbox): an error leaves the outbox row to try again,
	// and the events' IDs keep a second try from notifying twice.
	a.Imports.Imported = func(ctx context.Context, args imports.ImportReportArgs, res findings.ImportResult) error {
		account := ""
		for _, c := range args.Covers {
			account = c.AccountUID
		}
		var errs []error
		for _, ev := range importEvents(args.TeamID, args.ScanID, account, "Import of "+args.Filename, res) {
			if err := a.Notify.Publish(ctx, ev); err != nil {
				errs = append(errs, fmt.Errorf("queue a notification: %w", err))
			}
		}
		if err := a.Notify.EnqueueTicketSync(ctx, args.TeamID); err != nil {
			errs = append(errs, fmt.Errorf("queue the ticket sync: %w", err))
		}
		return errors.Join(errs...)
	}
	a.Orchestration.SubJobFinished = func(ctx context.Context, tx *sql.Tx, run orchestration.ScanRun, subJobID string, part *findings.PartResult) error {
		var evs []notify.Event
		if part != nil {
			what := fmt.Sprintf("Scan %s (%s)", strings.Join(run.Tools, "+"), run.ScanType)
			evs = importEvents(run.TeamID, run.ID+":"+subJobID, run.AccountUID, what, part.ImportResult)
			for i := range evs {
				evs[i].Path = "/findings?scan=" + run.ID
			}
		}
		if run.Status == orchestration.StatusFailed || run.Status == orchestration.StatusPartial {
			evs = append(evs, scanFailedEvent(run))
		}
		for _, ev := range evs {
			if err := a.Notify.PublishTx(ctx, tx, ev); err != nil {
				return fmt.Errorf("queue a notification: %w", err)
			}
		}
		if part != nil {
			// The part's findings may have closed or reopened ticketed ones.
			if err := a.Notify.EnqueueTicketSyncTx(ctx, tx, run.TeamID); err != nil {
				return fmt.Errorf("queue the ticket sync: %w", err)
			}
		}
		return nil
	}
}

// complianceSynced tells notifications the scores a sync computed.
func (a *App) complianceSynced(ctx context.Context, res compliance.SyncResult) {
	if a.Notify == nil {
		return
	}
	var scores []notify.Score
	if res.Overall.Score != nil {
		scores = append(scores, notify.Score{Scope: "overall", Name: "Overall", Score: *res.Overall.Score})
	}
	for _, f := range res.Frameworks {
		if f.Score != nil {
			scores = append(scores, notify.Score{Scope: "framework:" + f.ID, Name: f.Name, Score: *f.Score})
		}
	}
	if err := a.Notify.ObserveScores(ctx, res.TeamID, scores); err != nil {
		a.Logger.Warn("notifying of compliance scores failed", "team_id", res.TeamID, "err", err)
	}
}

// importEvents are the notifications an import's result calls for: the
// critical and high findings it opened, and the KEV occurrences.
func importEvents(teamID, key, account, what string, res findings.ImportResult) []notify.Event {
	var out []notify.Event
	crit, high := res.OpenedBySeverity["critical"], res.OpenedBySeverity["high"]
	scanID, _, _ := strings.Cut(key, ":")
	if crit+high > 0 {
		sev := "high"
		if crit > 0 {
			sev = "critical"
		}
		counts := map[string]int{}
		var parts []string
		if crit > 0 {
			counts["critical"] = crit
			parts = append(parts, fmt.Sprintf("%d critical", crit))
		}
		if high > 0 {
			counts["high"] = high
			parts = append(parts, fmt.Sprintf("%d high", high))
		}
		out = append(out, notify.Event{ID: "scan:" + key + ":" + notify.EventFindingNew, Type: notify.EventFindingNew, TeamID: teamID,
			Title: fmt.Sprintf("%s finding%s opened", strings.Join(parts, " and "), plural(crit+high)), Summary: what + " opened them.",
			Severity: sev, Severities: counts, AccountUID: account, Tags: res.OpenedTags, Path: "/findings?scan=" + scanID + "&severity=critical,high",
			Data: map[string]any{"scan_id": scanID, "format": res.Format}})
	}
	if v := res.Vulnerabilities; v != nil && v.KEVOpened > 0 {
		out = append(out, notify.Event{ID: "scan:" + key + ":" + notify.EventVulnKEV, Type: notify.EventVulnKEV, TeamID: teamID,
			Title:   fmt.Sprintf("%d occurrence%s of known exploited vulnerabilities opened", v.KEVOpened, plural(v.KEVOpened)),
			Summary: what + " found vulnerabilities listed in CISA's KEV catalog on an asset.", AccountUID: account,
			Path: "/vulnerabilities?in_kev=true", Data: map[string]any{"scan_id": scanID, "kev_opened": v.KEVOpened}})
	}
	return out
}

func scanFailedEvent(run orchestration.ScanRun) notify.Event {
	on := run.AccountUID
	if on == "" {
		on = strings.Join(run.Targets, ", ")
	}
	return notify.Event{ID: "scan_run:" + run.ID + ":" + run.Status, Type: notify.EventScanFailed, TeamID: run.TeamID,
		Title:   fmt.Sprintf("Scan %s: %s on %s", run.Status, strings.Join(run.Tools, "+"), on),
		Summary: run.StatusDetail, AccountUID: run.AccountUID, Path: "/scans",
		Data: map[string]any{"scan_run_id": run.ID, "status": run.Status, "subjobs_failed": run.SubJobsFailed, "subjobs": run.SubJobsTotal}}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// notifyWatchArgs is the hourly job that looks for what no request causes:
// vulnerabilities whose SLA deadline passed, BIA reviews that fell due.
type notifyWatchArgs struct{}

func (notifyWatchArgs) Kind() string { return "notify_watch" }

// watchWindow is how far back a deadline counts as newly passed: a day and
// an hour, so an hourly job that missed runs still tells each one once
// (the event IDs keep a repeat from being delivered twice).
const watchWindow = 25 * time.Hour

// notifyWatch publishes the SLA breaches and overdue BIA reviews of every team.
func (a *App) notifyWatch(ctx context.Context) (int, error) {
	teams, err := a.Teams.TeamIDs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	now := time.Now().UTC()
	for _, teamID := range teams {
		evs, err := a.watchTeam(ctx, teamID, now)
		if err != nil {
			errs = append(errs, err)
		}
		for _, ev := range evs {
			if err := a.Notify.Publish(ctx, ev); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (a *App) watchTeam(ctx context.Context, teamID string, now time.Time) ([]notify.Event, error) {
	var out []notify.Event
	list, err := a.Vulns.List(ctx, vuln.ListParams{TeamID: teamID, Overdue: true, Status: []string{"open"}, Limit: 500})
	if err != nil {
		return nil, fmt.Errorf("overdue vulnerabilities: %w", err)
	}
	for _, v := range list.Vulnerabilities {
		if v.SLADue == nil || v.SLADue.Before(now.Add(-watchWindow)) {
			continue
		}
		out = append(out, notify.Event{ID: "sla:" + v.ID + ":" + v.SLADue.Format(time.DateOnly), Type: notify.EventSLABreached, TeamID: teamID,
			Title:    fmt.Sprintf("SLA breached: %s (%s)", v.ID, v.Severity),
			Summary:  fmt.Sprintf("%s: %d open occurrence%s past the deadline of %s.", v.Title, v.Overdue, plural(v.Overdue), v.SLADue.Format(time.DateOnly)),
			Severity: v.Severity, Path: "/vulnerabilities?q=" + v.ID, Data: map[string]any{"vulnerability_id": v.ID, "sla_due": v.SLADue}})
	}
	procs, err := a.BIA.ProcessList(ctx, teamID, bia.ListParams{})
	if err != nil {
		return out, fmt.Errorf("business impact analyses: %w", err)
	}
	for _, p := range procs {
		if !p.ReviewOverdue || p.ReviewDue == nil {
			continue
		}
		out = append(out, notify.Event{ID: "bia:" + p.ID + ":review:" + p.ReviewDue.Format(time.DateOnly), Type: notify.EventBIAReviewOverdue,
			TeamID: teamID, Title: "BIA review overdue: " + p.Latest.Record.Name,
			Summary: fmt.Sprintf("The analysis was due for review on %s.", p.ReviewDue.Format(time.DateOnly)), Tier: p.Objectives.Tier,
			Path: "/bia/" + p.ID, Data: map[string]any{"process_id": p.ID, "review_due": p.ReviewDue}})
	}
	return out, nil
}

// addNotifyWorkers registers the notification jobs.
func (a *App) addNotifyWorkers(w *river.Workers) {
	svc := func() *notify.Service { return a.Notify }
	river.AddWorker(w, &notify.EventWorker{Service: svc})
	river.AddWorker(w, &notify.DeliverWorker{Service: svc})
	river.AddWorker(w, &notify.DigestWorker{Service: svc})
	river.AddWorker(w, &notify.TicketSyncWorker{Service: svc})
	river.AddWorker(w, &maintenanceWorker[importOutboxArgs]{logger: a.Logger, what: "imports' work after their commit done from the outbox",
		run: func(ctx context.Context) (int, error) { return a.Imports.DrainOutbox(ctx, imports.OutboxGrace) }})
	river.AddWorker(w, &maintenanceWorker[notifyWatchArgs]{logger: a.Logger, what: "SLA breaches and overdue BIA reviews notified",
		run: func(ctx context.Context) (int, error) { return a.notifyWatch(ctx) }})
}
