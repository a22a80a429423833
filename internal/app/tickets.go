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
			Path: "/findings?q=" + strconv.FormatInt(f.ID, 10), Closed: findingState(f.Finding).Closed}, nil
	case "vulnerability":
		v, err := t.a.Vulns.Get(ctx, teamID, id)
		if err != nil {
			return notify.Subject{}, err
		}
		desc := v.Description
		counts := map[string]int{}
		for _, o := range v.Occurrences {
			counts[o.Status]++
			if o.Status == "open" {
				desc += fmt.Sprintf("\n- %s: %s %s", o.Asset, o.Component, o.Location)
			}
		}
		return notify.Subject{Kind: kind, ID: v.ID, Title: v.ID + ": " + v.Title, Description: desc, Severity: v.Severity,
			Path: "/vulnerabilities?q=" + v.ID, Closed: vulnState(counts).Closed}, nil
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

// States answers the two-way ticket sync the states of findings or
// vulnerabilities, one query per batch.
func (t ticketSubjects) States(ctx context.Context, teamID, kind string, ids []string) (map[string]notify.SubjectState, error) {
	out := map[string]notify.SubjectState{}
	switch kind {
	case "finding":
		var fids []int64
		for _, id := range ids {
			if n, ok := findings.ParseID(id); ok {
				fids = append(fids, n)
			}
		}
		list, err := t.a.Findings.FindingsByIDs(ctx, teamID, fids)
		if err != nil {
			return nil, err
		}
		for _, f := range list {
			out[strconv.FormatInt(f.ID, 10)] = findingState(f)
		}
	case "vulnerability":
		counts, err := t.a.Vulns.OccurrenceCounts(ctx, teamID, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if c, ok := counts[vuln.NormalizeID(id)]; ok {
				out[id] = vulnState(c)
			}
		}
	}
	return out, nil
}

// findingState is whether a finding counts as closed for its ticket:
// resolved by a scan, triaged out (false positive, out of scope) or its
// risk accepted. A plain mute is not: it silences, it does not decide.
func findingState(f findings.Finding) notify.SubjectState {
	why := func(s, reason string) string {
		if reason != "" {
			return s + ": " + reason
		}
		return s
	}
	switch {
	case f.Status == findings.StatusResolved:
		return notify.SubjectState{Closed: true, Reason: "the latest scan of its scope no longer reports the finding (resolved)"}
	case f.Status == findings.StatusFalsePositive:
		return notify.SubjectState{Closed: true, NotPlanned: true, Reason: why("the finding was triaged as a false positive", f.TriageReason)}
	case f.Status == findings.StatusOutOfScope:
		return notify.SubjectState{Closed: true, NotPlanned: true, Reason: why("the finding was triaged as out of scope", f.TriageReason)}
	case f.Status == findings.StatusMuted && f.MuteKind == findings.MuteRiskAccepted:
		return notify.SubjectState{Closed: true, NotPlanned: true, Reason: why("the finding's risk was accepted", f.MutedReason)}
	case f.Status == findings.StatusReopened:
		return notify.SubjectState{Reason: "a scan reports the finding again (reopened)"}
	}
	return notify.SubjectState{Reason: "the finding is open again (" + f.Status + ")"}
}

// vulnState is whether a vulnerability counts as closed for its ticket:
// no occurrence of it left open. Fixed everywhere is done as completed;
// any accepted or vendor-dismissed occurrence makes it not planned.
func vulnState(counts map[string]int) notify.SubjectState {
	if open := counts[vuln.StatusOpen]; open > 0 {
		return notify.SubjectState{Reason: fmt.Sprintf("%d occurrence%s of the vulnerability open again", open, plural(open))}
	}
	fixed, total := counts[vuln.StatusFixed], 0
	for _, n := range counts {
		total += n
	}
	if fixed == total {
		return notify.SubjectState{Closed: true, Reason: fmt.Sprintf("the vulnerability is fixed on every asset (%d occurrence%s)", fixed, plural(fixed))}
	}
	return notify.SubjectState{Closed: true, NotPlanned: true,
		Reason: fmt.Sprintf("no occurrence of the vulnerability is left open (%d fixed, %d accepted or not affected)", fixed, total-fixed)}
}

// findingTickets answers the tickets of a page of findings in one lookup.
func (a *App) findingTickets(ctx context.Context, teamID string, ids []int64) (map[int64][]findings.FindingTicket, error) {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.FormatInt(id, 10)
	}
	list, err := a.Notify.TicketList(ctx, teamID, "finding", strs)
	if err != nil {
		return nil, err
	}
	out := map[int64][]findings.FindingTicket{}
	for _, t := range list {
		if id, ok := findings.ParseID(t.SubjectID); ok {
			out[id] = append(out[id], findings.FindingTicket{Key: t.Key, URL: t.URL, State: t.State, StatusName: t.StatusName, IntegrationKind: t.IntegrationKind})
		}
	}
	return out, nil
}
