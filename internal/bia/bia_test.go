package bia

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// users is a fixed directory: team -> enabled user IDs.
type users map[string]map[string]bool

func (u users) TeamUser(_ context.Context, teamID, userID string) (string, bool, error) {
	return userID + "@example.com", u[teamID][userID], nil
}

type bundle struct {
	s     *Service
	reg   *db.Registry
	clock *testClock
	audit *audit.Log
	users users
}

const teamA, teamB = "team-a", "team-b"

func setup(t *testing.T, reg *db.Registry) *bundle {
	t.Helper()
	b := &bundle{reg: reg, clock: &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, audit: audit.New(reg, nil),
		users: users{teamA: {"author": true, "manager": true, "officer": true, "analyst": true, "admin": true, "owner": true},
			teamB: {"b-admin": true}}}
	b.s = New(reg, Options{Users: b.users, Audit: b.audit, Now: b.clock.now})
	return b
}

func actor(id string, role rbac.Role) Actor {
	a := Actor{Role: role}
	a.ActorID, a.ActorEmail = id, id+"@example.com"
	return a
}

var (
	author  = actor("author", rbac.SecurityManager)
	manager = actor("manager", rbac.SecurityManager)
	officer = actor("officer", rbac.ComplianceOfficer)
	analyst = actor("analyst", rbac.SecurityAnalyst)
	admin   = actor("admin", rbac.Admin)
)

func hrs(v float64) *float64 { return &v }

// complete is a record without blocking gaps.
func complete(name string, tier int) Record {
	return Record{Name: name, OwnerID: "owner", Tier: tier, RTOHours: hrs(4), RPOHours: hrs(1), MTPDHours: hrs(24),
		FinancialLossPerHour: 1000, Impacts: map[string]map[string]int{"financial": {"1h": 2, "4h": 3}}}
}

func mustCreate(t *testing.T, b *bundle, r Record) Process {
	t.Helper()
	p, err := b.s.ProcessCreate(context.Background(), teamA, r, author)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func step(t *testing.T, b *bundle, p Process, action, comment string, a Actor) Process {
	t.Helper()
	out, err := b.s.ProcessTransition(context.Background(), teamA, p.ID, TransitionParams{Action: action, Comment: comment}, a)
	if err != nil {
		t.Fatalf("%s by %s: %v", action, a.ActorID, err)
	}
	return out
}

func TestLifecycleAndWhoMayTakeEachStep(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		r := complete("Payments", 1)
		r.RTOHours = nil
		p := mustCreate(t, b, r)
		if p.Status != StatusDraft || p.LatestVersion != 1 || p.Revision != 1 {
			t.Fatalf("created %+v", p)
		}
		// A draft with a blocking gap is not submitted; the gap is named.
		if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: ActionSubmit}, author); !errors.Is(err, ErrInvalid) ||
			!strings.Contains(err.Error(), "recovery time objective") {
			t.Fatalf("submit with a gap: %v", err)
		}
		p, err := b.s.ProcessUpdate(ctx, teamA, p.ID, UpdateParams{Record: complete("Payments", 1), Revision: rev(p.Revision)}, author)
		if err != nil {
			t.Fatal(err)
		}
		// Only a draft is submitted; approve and return need in_review.
		for _, act := range []string{ActionApprove, ActionReturn, ActionRevise} {
			if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: act, Comment: "x"}, manager); !errors.Is(err, ErrState) {
				t.Errorf("%s of a draft: %v, want ErrState", act, err)
			}
		}
		p = step(t, b, p, ActionSubmit, "ready", author)
		if p.Status != StatusInReview {
			t.Fatalf("submitted: %s", p.Status)
		}
		// In review, the analysis is not edited.
		if _, err := b.s.ProcessUpdate(ctx, teamA, p.ID, UpdateParams{Record: complete("Payments", 2), Revision: rev(p.Revision)}, author); !errors.Is(err, ErrState) {
			t.Fatalf("edit in review: %v", err)
		}
		// The author (a SECURITY_MANAGER) may not approve their own; an
		// analyst and an admin may not approve at all.
		for _, a := range []Actor{author, analyst, admin} {
			if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: ActionApprove}, a); !errors.Is(err, ErrForbidden) {
				t.Errorf("approve by %s: %v, want ErrForbidden", a.ActorID, err)
			}
		}
		// Returning needs a comment and an approver.
		if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: ActionReturn}, officer); !errors.Is(err, ErrInvalid) {
			t.Errorf("return without a comment: %v", err)
		}
		if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: ActionReturn, Comment: "no"}, analyst); !errors.Is(err, ErrForbidden) {
			t.Errorf("return by an analyst: %v", err)
		}
		p = step(t, b, p, ActionReturn, "RPO is too loose", officer)
		if p.Status != StatusReturned || p.Latest.Comment != "RPO is too loose" {
			t.Fatalf("returned: %+v", p.Latest)
		}
		p = step(t, b, p, ActionRevise, "", author)
		if p.Status != StatusDraft {
			t.Fatalf("revised: %s", p.Status)
		}
		p = step(t, b, p, ActionSubmit, "", author)
		// The officer, who never wrote it, approves.
		p = step(t, b, p, ActionApprove, "fine", officer)
		if p.Status != StatusApproved || p.ApprovedVersion != 1 || p.Latest.ApprovedBy != officer.ActorEmail || p.ReviewDue == nil {
			t.Fatalf("approved: %+v", p)
		}
		if want := b.clock.now().AddDate(1, 0, 0); !p.ReviewDue.Equal(want) {
			t.Errorf("review due %v, want a year after approval %v", p.ReviewDue, want)
		}
		// Archiving is the admin's.
		if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: ActionArchive}, manager); !errors.Is(err, ErrForbidden) {
			t.Errorf("archive by a manager: %v", err)
		}
		p = step(t, b, p, ActionArchive, "retired", admin)
		if p.Status != StatusArchived {
			t.Fatalf("archived: %s", p.Status)
		}
		if _, err := b.s.ProcessUpdate(ctx, teamA, p.ID, UpdateParams{Record: complete("Payments", 1), Revision: rev(p.Revision)}, author); !errors.Is(err, ErrState) {
			t.Errorf("edit archived: %v", err)
		}
		// Every step is recorded with actor and comment, and audited.
		_, trs, err := b.s.VersionList(ctx, teamA, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(trs) - 1; i >= 0; i-- {
			got = append(got, trs[i].Action+":"+trs[i].ActorID+":"+trs[i].Comment)
		}
		want := "submit:author:ready return:officer:RPO is too loose revise:author: submit:author: approve:officer:fine archive:admin:retired"
		if strings.Join(got, " ") != want {
			t.Errorf("transitions\n got %s\nwant %s", strings.Join(got, " "), want)
		}
		events, err := b.audit.EventList(ctx, audit.ListParams{TeamID: teamA, Action: "bia."})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]string{}
		for _, e := range events {
			if c, _ := e.Details["comment"].(string); c != "" {
				actions[e.Action] = e.ActorID + ":" + c
			}
		}
		if actions["bia.approve"] != "officer:fine" || actions["bia.return"] != "officer:RPO is too loose" || actions["bia.archive"] != "admin:retired" {
			t.Errorf("audited: %v", actions)
		}
	})
}

func TestApprovedIsReadOnlyAndVersioned(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		p := mustCreate(t, b, complete("Ledger", 2))
		p = step(t, b, p, ActionSubmit, "", author)
		p = step(t, b, p, ActionApprove, "", manager)
		// A change starts version 2 as a draft; version 1 stays in force.
		r := complete("Ledger", 1)
		p, err := b.s.ProcessUpdate(ctx, teamA, p.ID, UpdateParams{Record: r, Revision: rev(p.Revision)}, officer)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != StatusDraft || p.LatestVersion != 2 || p.ApprovedVersion != 1 || p.Approved == nil ||
			p.Approved.Record.Tier != 2 || p.Objectives.Tier != 2 || p.Latest.Record.Tier != 1 {
			t.Fatalf("after the change: status %s latest %d approved %d tier in force %d", p.Status, p.LatestVersion, p.ApprovedVersion,
				p.Objectives.Tier)
		}
		// The officer wrote version 2 and may not approve it; the author of
		// version 1 did not write version 2 and may.
		p = step(t, b, p, ActionSubmit, "", officer)
		if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: ActionApprove}, officer); !errors.Is(err, ErrForbidden) {
			t.Fatalf("officer approves own version: %v", err)
		}
		p = step(t, b, p, ActionApprove, "", author)
		if p.ApprovedVersion != 2 || p.Approved != nil || p.Objectives.Tier != 1 {
			t.Fatalf("version 2 approved: %+v", p)
		}
		versions, _, err := b.s.VersionList(ctx, teamA, p.ID)
		if err != nil || len(versions) != 2 {
			t.Fatalf("versions: %d %v", len(versions), err)
		}
		if versions[0].Status != StatusApproved || versions[1].Status != StatusSuperseded || versions[1].Record.Tier != 2 {
			t.Errorf("versions: %s %s", versions[0].Status, versions[1].Status)
		}
		v1, err := b.s.VersionGet(ctx, teamA, p.ID, 1)
		if err != nil || v1.ApprovedBy != manager.ActorEmail {
			t.Errorf("version 1: %+v %v", v1, err)
		}
	})
}

func TestConcurrentEditIsRefused(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		p := mustCreate(t, b, complete("Orders", 3))
		read := p.Revision
		if _, err := b.s.ProcessUpdate(ctx, teamA, p.ID, UpdateParams{Record: complete("Orders v2", 3), Revision: rev(read)}, author); err != nil {
			t.Fatal(err)
		}
		// A second editor who read the same revision is refused, not applied.
		if _, err := b.s.ProcessUpdate(ctx, teamA, p.ID, UpdateParams{Record: complete("Orders v3", 3), Revision: rev(read)}, manager); !errors.Is(err, ErrStale) {
			t.Fatalf("stale edit: %v", err)
		}
		stale := read
		if _, err := b.s.ProcessTransition(ctx, teamA, p.ID, TransitionParams{Action: ActionSubmit, Revision: &stale}, author); !errors.Is(err, ErrStale) {
			t.Fatalf("stale transition: %v", err)
		}
		got, err := b.s.ProcessGet(ctx, teamA, p.ID)
		if err != nil || got.Latest.Record.Name != "Orders v2" || got.Revision != read+1 {
			t.Fatalf("kept: %q revision %d", got.Latest.Record.Name, got.Revision)
		}
	})
}

func TestInheritanceAndCycles(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		// storage <- database <- payments (tier 1, RTO 2) and <- reporting (tier 4, RPO 0.5)
		storage := complete("Storage", 5)
		storage.RTOHours, storage.RPOHours, storage.MTPDHours = hrs(48), hrs(24), hrs(96)
		st := mustCreate(t, b, storage)
		database := complete("Database", 3)
		database.RTOHours, database.RPOHours, database.MTPDHours = hrs(8), hrs(4), hrs(48)
		database.Dependencies = []Dependency{{Kind: DepProcess, Value: st.ID}}
		dbp := mustCreate(t, b, database)
		pay := complete("Payments", 1)
		pay.RTOHours, pay.RPOHours, pay.MTPDHours = hrs(2), hrs(1), hrs(12)
		pay.Dependencies = []Dependency{{Kind: DepProcess, Value: dbp.ID}}
		mustCreate(t, b, pay)
		rep := complete("Reporting", 4)
		rep.RTOHours, rep.RPOHours, rep.MTPDHours = hrs(24), hrs(0.5), hrs(72)
		rep.RPOJustification = ""
		rep.Dependencies = []Dependency{{Kind: DepProcess, Value: dbp.ID}}
		repP := mustCreate(t, b, rep)

		got, err := b.s.ProcessGet(ctx, teamA, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		o := got.Objectives
		if o.Tier != 1 || *o.RTOHours != 2 || *o.RPOHours != 0.5 || *o.MTPDHours != 12 {
			t.Fatalf("storage inherits tier %d RTO %v RPO %v MTPD %v", o.Tier, *o.RTOHours, *o.RPOHours, *o.MTPDHours)
		}
		if o.InheritedFrom["tier"].Name != "Payments" || o.InheritedFrom["rto"].Name != "Payments" || o.InheritedFrom["rpo"].Name != "Reporting" ||
			o.InheritedFrom["mtpd"].Name != "Payments" {
			t.Errorf("inherited from %+v", o.InheritedFrom)
		}
		codes := gapCodes(got.Gaps)
		for _, c := range []string{"inherited_rto_tighter", "inherited_rpo_tighter", "inherited_mtpd_tighter", "inherited_tier_higher"} {
			if !strings.Contains(codes, c) {
				t.Errorf("storage's gaps %s lack %s", codes, c)
			}
		}
		if d, _ := b.s.ProcessGet(ctx, teamA, dbp.ID); len(d.DependedOnBy) != 2 {
			t.Errorf("database depended on by %+v", d.DependedOnBy)
		}
		// storage -> reporting would close reporting -> database -> storage -> reporting.
		cyc := storage
		cyc.Dependencies = []Dependency{{Kind: DepProcess, Value: repP.ID}}
		if _, err := b.s.ProcessUpdate(ctx, teamA, st.ID, UpdateParams{Record: cyc, Revision: rev(got.Revision)}, author); !errors.Is(err, ErrCycle) ||
			!strings.Contains(err.Error(), "Storage -> Reporting -> Database -> Storage") {
			t.Fatalf("cycle: %v", err)
		}
		self := storage
		self.Dependencies = []Dependency{{Kind: DepProcess, Value: st.ID}}
		if _, err := b.s.ProcessUpdate(ctx, teamA, st.ID, UpdateParams{Record: self, Revision: rev(got.Revision)}, author); !errors.Is(err, ErrCycle) {
			t.Fatalf("self dependency: %v", err)
		}
		// A dependency on another team's process is a dependency on nothing.
		bRec := complete("B's", 1)
		bRec.OwnerID = "b-admin"
		other, err := b.s.ProcessCreate(ctx, teamB, bRec, actor("b-admin", rbac.Admin))
		if err != nil {
			t.Fatal(err)
		}
		cross := storage
		cross.Dependencies = []Dependency{{Kind: DepProcess, Value: other.ID}}
		if _, err := b.s.ProcessUpdate(ctx, teamA, st.ID, UpdateParams{Record: cross, Revision: rev(got.Revision)}, author); !errors.Is(err, ErrInvalid) {
			t.Fatalf("cross-team dependency: %v", err)
		}
	})
}

func gapCodes(gaps []Gap) string {
	var out []string
	for _, g := range gaps {
		out = append(out, g.Code)
	}
	return strings.Join(out, ",")
}

func TestValidationListsGapsAndRefusesBadValues(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		r := Record{Name: "Gappy", Tier: 3, RTOHours: hrs(30), RPOHours: hrs(40), MTPDHours: hrs(24)}
		p := mustCreate(t, b, r)
		// Stored as written, never corrected; every gap listed.
		if *p.Latest.Record.RTOHours != 30 || *p.Latest.Record.RPOHours != 40 {
			t.Fatalf("values changed: %+v", p.Latest.Record)
		}
		if got, want := gapCodes(p.Gaps), "rto_exceeds_mtpd,rpo_exceeds_rto,owner_missing,impacts_unrated"; got != want {
			t.Errorf("gaps %s, want %s", got, want)
		}
		// A justification answers RPO > RTO.
		r.RPOJustification, r.OwnerID = "nightly batch", "owner"
		p, err := b.s.ProcessUpdate(ctx, teamA, p.ID, UpdateParams{Record: r, Revision: rev(p.Revision)}, author)
		if err != nil {
			t.Fatal(err)
		}
		if got := gapCodes(p.Gaps); got != "rto_exceeds_mtpd,impacts_unrated" {
			t.Errorf("gaps after justification %s", got)
		}
		// The owner later leaves the team: listed, not removed.
		b.users[teamA]["owner"] = false
		if p, _ = b.s.ProcessGet(ctx, teamA, p.ID); !strings.Contains(gapCodes(p.Gaps), "owner_not_in_team") || p.Latest.Record.OwnerID != "owner" {
			t.Errorf("owner gone: %s", gapCodes(p.Gaps))
		}
		for name, bad := range map[string]Record{
			"tier":     {Name: "x", Tier: 6},
			"rating":   {Name: "x", Tier: 1, Impacts: map[string]map[string]int{"financial": {"1h": 7}}},
			"category": {Name: "x", Tier: 1, Impacts: map[string]map[string]int{"weather": {"1h": 1}}},
			"horizon":  {Name: "x", Tier: 1, Impacts: map[string]map[string]int{"financial": {"2y": 1}}},
			"hours":    {Name: "x", Tier: 1, RTOHours: hrs(-1)},
			"owner":    {Name: "x", Tier: 1, OwnerID: "b-admin"},
			"tag":      {Name: "x", Tier: 1, Dependencies: []Dependency{{Kind: DepTag, Value: "env"}}},
			"kind":     {Name: "x", Tier: 1, Dependencies: []Dependency{{Kind: "moon", Value: "x"}}},
			"name":     {Name: " ", Tier: 1},
		} {
			if _, err := b.s.ProcessCreate(ctx, teamA, bad, author); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	})
}

func TestTeamIsolation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		p := mustCreate(t, b, complete("A's", 1))
		bAdmin := actor("b-admin", rbac.Admin)
		if _, err := b.s.ProcessGet(ctx, teamB, p.ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("get: %v", err)
		}
		if _, err := b.s.ProcessUpdate(ctx, teamB, p.ID, UpdateParams{Record: complete("x", 1), Revision: rev(p.Revision)}, bAdmin); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("update: %v", err)
		}
		if _, err := b.s.ProcessTransition(ctx, teamB, p.ID, TransitionParams{Action: ActionArchive}, bAdmin); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("transition: %v", err)
		}
		if _, _, err := b.s.VersionList(ctx, teamB, p.ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("versions: %v", err)
		}
		if err := b.s.ProcessDelete(ctx, teamB, p.ID, bAdmin); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("delete: %v", err)
		}
		if list, err := b.s.ProcessList(ctx, teamB, ListParams{}); err != nil || len(list) != 0 {
			t.Errorf("team B lists %d: %v", len(list), err)
		}
		if a, err := b.s.AnalyticsGet(ctx, teamB); err != nil || a.Processes != 0 {
			t.Errorf("team B analytics: %d %v", a.Processes, err)
		}
	})
}

func TestDeleteAndArchiveOverdue(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		ctx := context.Background()
		draft := mustCreate(t, b, complete("Draft only", 4))
		if err := b.s.ProcessDelete(ctx, teamA, draft.ID, author); err != nil {
			t.Fatal(err)
		}
		r := complete("Quarterly", 2)
		r.ReviewIntervalMonths = 3
		p := mustCreate(t, b, r)
		p = step(t, b, p, ActionSubmit, "", author)
		p = step(t, b, p, ActionApprove, "", manager)
		if err := b.s.ProcessDelete(ctx, teamA, p.ID, author); !errors.Is(err, ErrState) {
			t.Fatalf("delete approved: %v", err)
		}
		// Three months and ten days on, the review is overdue by ten days.
		b.clock.add(time.Duration(92+10) * 24 * time.Hour)
		got, _ := b.s.ProcessGet(ctx, teamA, p.ID)
		if !got.ReviewOverdue || !strings.Contains(gapCodes(got.Gaps), "review_overdue") {
			t.Fatalf("not overdue: %+v", got)
		}
		n, err := b.s.ArchiveOverdue(ctx, []string{teamA, teamB}, 30*24*time.Hour)
		if err != nil || n != 0 {
			t.Fatalf("within grace: archived %d, %v", n, err)
		}
		b.clock.add(30 * 24 * time.Hour)
		if n, err = b.s.ArchiveOverdue(ctx, []string{teamA, teamB}, 30*24*time.Hour); err != nil || n != 1 {
			t.Fatalf("beyond grace: archived %d, %v", n, err)
		}
		got, _ = b.s.ProcessGet(ctx, teamA, p.ID)
		if got.Status != StatusArchived {
			t.Fatalf("status %s", got.Status)
		}
		_, trs, _ := b.s.VersionList(ctx, teamA, p.ID)
		if trs[0].Action != ActionArchive || trs[0].ActorEmail != "system" || !strings.Contains(trs[0].Comment, "review overdue") {
			t.Errorf("archive recorded as %+v", trs[0])
		}
	})
}

func rev(n int64) *int64 { return &n }
