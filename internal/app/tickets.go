package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// ticketSubjects describes findings and vulnerabilities for tickets, and
// closes them when a ticket is done and the team's integration says so:
// a finding is muted (the next scan still says whether it is fixed), a
// vulnerability's open occurrences are accepted, each with the ticket as
// the reason.
type ticketSubjects struct{ a *App }

func (t ticketSubjects) Subject(ctx context.Context, teamID, kind, id string) (notify.Subject, error) {
	switch kind {
	case "finding":
		fid, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return notify.Subject{}, fmt.Errorf("%w: finding IDs are numbers", notify.ErrInvalid)
		}
		f, err := t.a.Findings.FindingGet(ctx, teamID, fid)
		if err != nil {
			return notify.Subject{}, err
		}
		desc := f.Description
		for _, line := range []struct{ k, v string }{{"Check", f.CheckID}, {"Tool", f.Tool}, {"Account", f.AccountUID}, {"Region", f.Region},
			{"Resource", f.ResourceUID}, {"Target", f.Target}} {
			if line.v != "" {
				desc += "\n" + line.k + ": " + line.v
			}
		}
		return notify.Subject{Kind: kind, ID: id, Title: f.Title, Description: desc, Severity: f.Severity,
			Path: "/findings?q=" + strconv.FormatInt(f.ID, 10)}, nil
	case "vulnerability":
		v, err := t.a.Vulns.Get(ctx, teamID, id)
		if err != nil {
			return notify.Subject{}, err
		}
		desc := v.Description
		for _, o := range v.Occurrences {
			if o.Status == "open" {
				desc += fmt.Sprintf("\n- %s: %s %s", o.Asset, o.Component, o.Location)
			}
		}
		return notify.Subject{Kind: kind, ID: v.ID, Title: v.ID + ": " + v.Title, Description: desc, Severity: v.Severity,
			Path: "/vulnerabilities?q=" + v.ID}, nil
	}
	return notify.Subject{}, db.ErrNotFound
}

func (t ticketSubjects) Close(ctx context.Context, teamID, kind, id, reason string) error {
	switch kind {
	case "finding":
		fid, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return err
		}
		return t.a.Findings.FindingMute(ctx, teamID, fid, "ticket webhook", findings.MuteByPerson, reason, nil)
	case "vulnerability":
		v, err := t.a.Vulns.Get(ctx, teamID, id)
		if err != nil {
			return err
		}
		for _, o := range v.Occurrences {
			if o.Status != "open" {
				continue
			}
			if _, err := t.a.Vulns.OccurrenceSetStatus(ctx, teamID, o.ID, vuln.StatusChange{Status: "accepted", Reason: reason},
				audit.Event{ActorEmail: "ticket webhook"}); err != nil {
				return err
			}
		}
	}
	return nil
}
