package bia

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// teamState is every process of one team, latest and approved versions loaded,
// from which inheritance, cycles and gaps are derived.
type teamState struct {
	procs    map[string]*Process
	settings Settings
	// key is the stateKey the processes were read under.
	key string
}

// processDeps lists the process IDs a version depends on.
func processDeps(r *Record) []string {
	var out []string
	for _, d := range r.Dependencies {
		if d.Kind == DepProcess {
			out = append(out, d.Value)
		}
	}
	return out
}

// live reports whether a process counts: not archived.
func live(p *Process) bool { return p.Status != StatusArchived }

// checkDeps refuses process dependencies on unknown or archived processes,
// on itself, and any that would close a cycle, were process id's latest
// version to depend on next. Edges are the union of every live process's
// latest and approved versions: whichever of them is in force, no cycle.
func (t *teamState) checkDeps(id string, next []string) error {
	edges := map[string][]string{}
	for pid, p := range t.procs {
		if !live(p) || pid == id {
			continue
		}
		edges[pid] = append(processDeps(&p.Latest.Record), approvedDeps(p)...)
	}
	if p := t.procs[id]; p != nil {
		edges[id] = append(edges[id], approvedDeps(p)...)
	}
	for _, d := range next {
		if d == id {
			return fmt.Errorf("%w: a process cannot depend on itself", ErrCycle)
		}
		q := t.procs[d]
		if q == nil || !live(q) {
			return fmt.Errorf("%w: dependency on process %q, which does not exist or is archived", ErrInvalid, d)
		}
	}
	edges[id] = append(edges[id], next...)
	// A path from any new dependency back to id closes a cycle.
	for _, start := range next {
		if path := findPath(edges, start, id); path != nil {
			names := make([]string, 0, len(path)+1)
			names = append(names, t.name(id))
			for _, p := range path {
				names = append(names, t.name(p))
			}
			return fmt.Errorf("%w: %s", ErrCycle, strings.Join(names, " -> "))
		}
	}
	return nil
}

func approvedDeps(p *Process) []string {
	if p.Approved == nil {
		return nil
	}
	return processDeps(&p.Approved.Record)
}

func (t *teamState) name(id string) string {
	if p := t.procs[id]; p != nil {
		return p.Latest.Record.Name
	}
	return id
}

// findPath returns a path from -> ... -> to along edges, or nil.
func findPath(edges map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == to {
			var path []string
			for x := n; x != ""; x = prev[x] {
				path = append([]string{x}, path...)
			}
			return path
		}
		for _, m := range edges[n] {
			if _, seen := prev[m]; !seen {
				prev[m] = n
				queue = append(queue, m)
			}
		}
	}
	return nil
}

// dependents maps each process to the live processes whose in-force
// version depends on it directly.
func (t *teamState) dependents() map[string][]string {
	out := map[string][]string{}
	for pid, p := range t.procs {
		if !live(p) {
			continue
		}
		for _, d := range processDeps(&p.inForce().Record) {
			out[d] = append(out[d], pid)
		}
	}
	for _, l := range out {
		sort.Strings(l)
	}
	return out
}

// derive fills every process's objectives in force (inheriting the
// tightest RTO, RPO and MTPD and the highest tier of every process that
// depends on it, directly or not), its review due date and its gaps.
func (t *teamState) derive(now time.Time, owners map[string]bool) {
	deps := t.dependents()
	memo := map[string]Objectives{}
	for pid, p := range t.procs {
		p.DependedOnBy = []InheritedFrom{}
		for _, d := range deps[pid] {
			p.DependedOnBy = append(p.DependedOnBy, InheritedFrom{ProcessID: d, Name: t.name(d)})
		}
		o := t.inherited(pid, deps, memo, map[string]bool{})
		p.Objectives = o
		if p.Approved != nil || p.Latest.Status == StatusApproved {
			v := p.inForce()
			due := v.Record.ReviewDate
			p.ReviewDue = due
			p.ReviewOverdue = due != nil && live(p) && due.Before(now)
		}
		p.Gaps = t.gaps(p, owners)
	}
}

// inherited is a process's objectives in force: its own, or tighter ones
// of the processes that depend on it, directly or not. Each process's are
// computed once from its direct dependents' (memo), so a thousand chained
// processes cost a thousand merges, not a million. Ties keep the process's
// own value, and between dependents name the smallest process ID, so the
// same process is named every time. The graph has no cycles (checkDeps);
// visiting guards against one all the same.
func (t *teamState) inherited(pid string, deps map[string][]string, memo map[string]Objectives, visiting map[string]bool) Objectives {
	if o, ok := memo[pid]; ok {
		return o
	}
	own := &t.procs[pid].inForce().Record
	o := Objectives{Tier: own.Tier, RTOHours: own.RTOHours, RPOHours: own.RPOHours, MTPDHours: own.MTPDHours}
	if visiting[pid] {
		return o
	}
	visiting[pid] = true
	defer delete(visiting, pid)
	for _, d := range deps[pid] {
		od := t.inherited(d, deps, memo, visiting)
		src := func(k string) InheritedFrom {
			if f, ok := od.InheritedFrom[k]; ok {
				return f
			}
			return InheritedFrom{ProcessID: d, Name: t.name(d)}
		}
		better := func(k string, tighter, equal bool) bool {
			if tighter {
				return true
			}
			cur, inheritedNow := o.InheritedFrom[k]
			return equal && inheritedNow && src(k).ProcessID < cur.ProcessID
		}
		if od.Tier >= 1 && better("tier", od.Tier < o.Tier, od.Tier == o.Tier) {
			o.Tier = od.Tier
			o.inherit("tier", src("tier"))
		}
		for _, x := range []struct {
			key      string
			mine, in **float64
		}{{"rto", &o.RTOHours, &od.RTOHours}, {"rpo", &o.RPOHours, &od.RPOHours}, {"mtpd", &o.MTPDHours, &od.MTPDHours}} {
			if *x.in != nil && better(x.key, tighter(*x.in, *x.mine), *x.mine != nil && **x.in == **x.mine) {
				*x.mine = *x.in
				o.inherit(x.key, src(x.key))
			}
		}
	}
	memo[pid] = o
	return o
}

func (o *Objectives) inherit(what string, from InheritedFrom) {
	if o.InheritedFrom == nil {
		o.InheritedFrom = map[string]InheritedFrom{}
	}
	o.InheritedFrom[what] = from
}

// tighter reports whether a is set and smaller than b (or b unset).
func tighter(a, b *float64) bool { return a != nil && (b == nil || *a < *b) }

func hours(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".") + " h"
}

// gaps lists what is missing or inconsistent in the latest version (the
// one being worked on), with the objectives in force.
func (t *teamState) gaps(p *Process, owners map[string]bool) []Gap {
	r := &p.Latest.Record
	out := []Gap{}
	add := func(code, msg string) { out = append(out, Gap{Code: code, Message: msg}) }
	if r.RTOHours == nil {
		add("rto_missing", "No recovery time objective (RTO).")
	}
	if r.RPOHours == nil {
		add("rpo_missing", "No recovery point objective (RPO).")
	}
	if r.MTPDHours == nil {
		add("mtpd_missing", "No maximum tolerable period of disruption (MTPD).")
	}
	if r.RTOHours != nil && r.MTPDHours != nil && *r.RTOHours > *r.MTPDHours {
		add("rto_exceeds_mtpd", fmt.Sprintf("RTO %s exceeds MTPD %s: recovery would come after the disruption became intolerable.",
			hours(*r.RTOHours), hours(*r.MTPDHours)))
	}
	if r.RPOHours != nil && r.RTOHours != nil && *r.RPOHours > *r.RTOHours && strings.TrimSpace(r.RPOJustification) == "" {
		add("rpo_exceeds_rto", fmt.Sprintf("RPO %s exceeds RTO %s without a justification.", hours(*r.RPOHours), hours(*r.RTOHours)))
	}
	switch {
	case r.OwnerID == "":
		add("owner_missing", "No owner.")
	case owners != nil && !owners[r.OwnerID]:
		add("owner_not_in_team", "The owner is not an enabled user of the team.")
	}
	unrated := 0
	for _, c := range t.settings.Categories {
		for _, h := range t.settings.Horizons {
			if r.Impacts[c.Key][h.Key] == 0 {
				unrated++
			}
		}
	}
	if unrated > 0 {
		add("impacts_unrated", fmt.Sprintf("%d of %d impact ratings are not set.", unrated, len(t.settings.Categories)*len(t.settings.Horizons)))
	}
	if p.ReviewOverdue {
		add("review_overdue", "The review was due "+p.ReviewDue.UTC().Format(time.DateOnly)+".")
	}
	o := p.Objectives
	for _, x := range []struct {
		key, code, label string
		own, in          *float64
	}{{"rto", "inherited_rto_tighter", "RTO", r.RTOHours, o.RTOHours}, {"rpo", "inherited_rpo_tighter", "RPO", r.RPOHours, o.RPOHours},
		{"mtpd", "inherited_mtpd_tighter", "MTPD", r.MTPDHours, o.MTPDHours}} {
		if from, ok := o.InheritedFrom[x.key]; ok && x.in != nil && tighter(x.in, x.own) {
			add(x.code, fmt.Sprintf("%s %s is inherited from %s, which depends on this process.", x.label, hours(*x.in), from.Name))
		}
	}
	if from, ok := o.InheritedFrom["tier"]; ok && o.Tier < r.Tier {
		add("inherited_tier_higher", fmt.Sprintf("Tier %d is inherited from %s, which depends on this process.", o.Tier, from.Name))
	}
	return out
}
