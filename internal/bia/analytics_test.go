package bia

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// fixedSources is a fixed set of open failing findings and open KEV
// occurrences per team, as the stores would answer.
type fixedSources struct {
	findings map[string][]FindingRow
	kev      map[string][]KEVOccurrence
	version  int64
}

func (f *fixedSources) OpenFailing(_ context.Context, teamID string, fn func(FindingRow) error) error {
	for _, r := range f.findings[teamID] {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
func (f *fixedSources) FindingsVersion(context.Context, string) (int64, error) { return f.version, nil }
func (f *fixedSources) OpenKEV(_ context.Context, teamID string) ([]KEVOccurrence, error) {
	return f.kev[teamID], nil
}
func (f *fixedSources) VulnsVersion(context.Context, string) (int64, error) { return f.version, nil }

const (
	sevMedium, sevHigh, sevCritical = 3, 4, 5
	acct                            = "111111111111"
)

// The fixed data set; every expected value below is counted by hand from it.
//
//	Checkout  tier 1, approved; depends on account 111111111111, tag env=prod and Database;
//	          loss 1,000/h; RTO 2 RPO 1 MTPD 8; recovery tested in 1.5 h (met); review due after a year
//	Database  tier 3, draft; depends on resource arn:db; loss 200/h; RTO 4 RPO 6 MTPD 24 (RPO > RTO, unjustified)
//	Reporting tier 4, draft; depends on image registry/app:1 and host 10.0.0.5; loss 100/h;
//	          RTO 48 RPO 1 MTPD 24 (RTO > MTPD); recovery tested in 60 h (RTO 48: not met)
//	Old       tier 2, archived; depends on account 111111111111 (counts nowhere)
//
// Team A's open failing findings (what the findings store streams):
//
//	f1 account 111111111111 arn:a1 critical           -> Checkout (account)
//	f2 account 111111111111 arn:a2 high |env=prod|    -> Checkout (account and tag: once)
//	f3 account 222 arn:db high                        -> Database; Checkout through Database
//	f4 account 222 arn:x medium |env=prod|team=x|     -> Checkout (tag)
//	f5 target registry/app:1 critical                 -> Reporting (image)
//	f6 account 333 arn:other high                     -> nobody
//
// Team A's open KEV occurrences: CVE-1 on arn:db (named by Database: also
// Checkout's), CVE-2 on registry/app:1 (Reporting) and on arn:a1 (f1's
// resource: Checkout). Team B has a finding and a KEV occurrence on the same
// account and resource, which count nowhere in team A.
func fixedDataSet() *fixedSources {
	return &fixedSources{version: 1,
		findings: map[string][]FindingRow{
			teamA: {
				{AccountUID: acct, ResourceUID: "arn:a1", Severity: sevCritical},
				{AccountUID: acct, ResourceUID: "arn:a2", Tags: "|env=prod|", Severity: sevHigh},
				{AccountUID: "222", ResourceUID: "arn:db", Severity: sevHigh},
				{AccountUID: "222", ResourceUID: "arn:x", Tags: "|env=prod|team=x|", Severity: sevMedium},
				{Target: "registry/app:1", Severity: sevCritical},
				{AccountUID: "333", ResourceUID: "arn:other", Severity: sevHigh},
			},
			teamB: {{AccountUID: acct, ResourceUID: "arn:db", Severity: sevCritical}},
		},
		kev: map[string][]KEVOccurrence{
			teamA: {{Asset: "arn:db", VulnID: "CVE-1"}, {Asset: "registry/app:1", VulnID: "CVE-2"}, {Asset: "arn:a1", VulnID: "CVE-2"}},
			teamB: {{Asset: "arn:db", VulnID: "CVE-9"}},
		},
	}
}

func TestAnalyticsOnAFixedDataSet(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		src := fixedDataSet()
		b.s = New(reg, Options{Users: b.users, Audit: b.audit, Now: b.clock.now, Findings: src, KEV: src})
		ctx := context.Background()
		tested := b.clock.now().Add(-24 * time.Hour)

		dbRec := Record{Name: "Database", OwnerID: "owner", Tier: 3, RTOHours: hrs(4), RPOHours: hrs(6), MTPDHours: hrs(24),
			FinancialLossPerHour: 200, Impacts: map[string]map[string]int{"financial": {"1h": 4}},
			Dependencies: []Dependency{{Kind: DepResource, Value: "arn:db"}}}
		database := mustCreate(t, b, dbRec)
		checkout := Record{Name: "Checkout", OwnerID: "owner", Tier: 1, RTOHours: hrs(2), RPOHours: hrs(1), MTPDHours: hrs(8),
			FinancialLossPerHour: 1000, RecoveryTestedAt: &tested, MeasuredRecoveryHrs: hrs(1.5),
			Impacts: map[string]map[string]int{"financial": {"1h": 2, "4h": 4}},
			Dependencies: []Dependency{{Kind: DepCloudAccount, Value: acct}, {Kind: DepTag, Value: "Env = Prod"},
				{Kind: DepProcess, Value: database.ID}, {Kind: DepVendor, Value: "Stripe"}}}
		co := mustCreate(t, b, checkout)
		co = step(t, b, co, ActionSubmit, "", author)
		step(t, b, co, ActionApprove, "", manager)
		reporting := Record{Name: "Reporting", OwnerID: "owner", Tier: 4, RTOHours: hrs(48), RPOHours: hrs(1), MTPDHours: hrs(24),
			FinancialLossPerHour: 100, RecoveryTestedAt: &tested, MeasuredRecoveryHrs: hrs(60),
			Impacts:      map[string]map[string]int{"financial": {"1h": 1}, "operational": {"24h": 5}},
			Dependencies: []Dependency{{Kind: DepContainerImage, Value: "registry/app:1"}, {Kind: DepNetworkHost, Value: "10.0.0.5"}}}
		rep := mustCreate(t, b, reporting)
		old := mustCreate(t, b, Record{Name: "Old", OwnerID: "owner", Tier: 2, FinancialLossPerHour: 5000,
			Dependencies: []Dependency{{Kind: DepCloudAccount, Value: acct}}})
		step(t, b, old, ActionArchive, "retired", admin)
		// Team B's process on the same account.
		bRec := Record{Name: "B", OwnerID: "b-admin", Tier: 1, Dependencies: []Dependency{{Kind: DepCloudAccount, Value: acct}}}
		if _, err := b.s.ProcessCreate(ctx, teamB, bRec, actor("b-admin", "ADMIN")); err != nil {
			t.Fatal(err)
		}
		// A year and ten days after Checkout's approval, its review is ten days overdue.
		b.clock.add(time.Duration(365+10) * 24 * time.Hour) // 2026-03-01 + 375 days; due 2027-03-01

		a, err := b.s.AnalyticsGet(ctx, teamA)
		if err != nil {
			t.Fatal(err)
		}
		if a.Processes != 3 {
			t.Errorf("processes %d, want 3 (Old is archived)", a.Processes)
		}
		wantStatus := map[string]int{StatusDraft: 2, StatusInReview: 0, StatusReturned: 0, StatusApproved: 1, StatusArchived: 1}
		if !reflect.DeepEqual(a.ByStatus, wantStatus) {
			t.Errorf("by status %v, want %v", a.ByStatus, wantStatus)
		}
		// Database inherits tier 1 from Checkout, which depends on it.
		tierCounts := map[int]int{}
		tierRevenue := map[int]float64{}
		for _, tc := range a.ByTier {
			tierCounts[tc.Tier], tierRevenue[tc.Tier] = tc.Count, tc.RevenueAtRiskPerDay
		}
		if !reflect.DeepEqual(tierCounts, map[int]int{1: 2, 2: 0, 3: 0, 4: 1, 5: 0}) {
			t.Errorf("per tier %v", tierCounts)
		}
		// (1,000 + 200) x 24 = 28,800 in tier 1; 100 x 24 = 2,400 in tier 4.
		if tierRevenue[1] != 28800 || tierRevenue[4] != 2400 || a.RevenueAtRiskPerDay != 31200 {
			t.Errorf("revenue at risk %v per tier %v, want 31,200 (28,800 and 2,400)", a.RevenueAtRiskPerDay, tierRevenue)
		}
		cells := map[string]HeatCell{}
		for _, c := range a.Heatmap.Cells {
			cells[c.Category+"/"+c.Horizon] = c
		}
		if len(a.Heatmap.Cells) != 25 {
			t.Errorf("%d heatmap cells, want 5 x 5", len(a.Heatmap.Cells))
		}
		// financial/1h: 2, 4 and 1 -> max 4, mean 7/3.
		if c := cells["financial/1h"]; c.Max != 4 || c.Rated != 3 || math.Abs(c.Mean-7.0/3) > 0.001 {
			t.Errorf("financial/1h %+v", c)
		}
		if c := cells["financial/4h"]; c.Max != 4 || c.Rated != 1 || c.Mean != 4 {
			t.Errorf("financial/4h %+v", c)
		}
		if c := cells["operational/24h"]; c.Max != 5 || c.Rated != 1 || c.Mean != 5 {
			t.Errorf("operational/24h %+v", c)
		}
		if c := cells["safety/1w"]; c.Max != 0 || c.Rated != 0 {
			t.Errorf("safety/1w %+v", c)
		}
		gaps := map[string][]string{}
		for _, g := range a.ObjectiveGaps {
			gaps[g.Name] = g.Codes
		}
		if !reflect.DeepEqual(gaps, map[string][]string{"Database": {"rpo_exceeds_rto"}, "Reporting": {"rto_exceeds_mtpd"}}) {
			t.Errorf("objective gaps %v", gaps)
		}
		if a.WithGaps != 3 { // every one has unrated impacts
			t.Errorf("with gaps %d, want 3", a.WithGaps)
		}
		if len(a.OverdueReviews) != 1 || a.OverdueReviews[0].Name != "Checkout" || a.OverdueReviews[0].DaysOverdue != 10 {
			t.Errorf("overdue %+v", a.OverdueReviews)
		}
		// Tested: Checkout (1.5 h against RTO 2: met) and Reporting (60 h against 48: not met), of 3.
		if a.RecoveryTested != 2 || a.TargetsMet != 1 || a.RecoveryTestedShare != 0.6667 || a.TargetsMetShare != 0.3333 {
			t.Errorf("recovery: tested %d (%v), met %d (%v)", a.RecoveryTested, a.RecoveryTestedShare, a.TargetsMet, a.TargetsMetShare)
		}
		type row struct {
			name               string
			tier, open, kev    int
			crit, high, medium int
			kevIDs             []string
		}
		var got []row
		for _, e := range a.Exposure {
			got = append(got, row{e.Name, e.Tier, e.OpenFindings, e.KEV, e.BySeverity["critical"], e.BySeverity["high"], e.BySeverity["medium"], e.KEVIDs})
		}
		want := []row{
			// f1 f2 f4 directly, f3 through Database; CVE-1 (arn:db, Database's) and CVE-2 (arn:a1, f1's resource).
			{"Checkout", 1, 4, 2, 1, 2, 1, []string{"CVE-1", "CVE-2"}},
			// f3; CVE-1 on arn:db. Tier 1, inherited.
			{"Database", 1, 1, 1, 0, 1, 0, []string{"CVE-1"}},
			// f5 on the image; CVE-2 on it. Nothing on the host.
			{"Reporting", 4, 1, 1, 1, 0, 0, []string{"CVE-2"}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("exposure\n got %+v\nwant %+v", got, want)
		}
		// Cached under the stores' versions: a finding the sources did not
		// announce with a new version is not counted, one they did is.
		src.findings[teamA] = append(src.findings[teamA], FindingRow{AccountUID: acct, Severity: sevHigh})
		if a2, _ := b.s.AnalyticsGet(ctx, teamA); a2.Exposure[0].OpenFindings != 4 {
			t.Errorf("without a new version: %d", a2.Exposure[0].OpenFindings)
		}
		src.version++
		if a2, _ := b.s.AnalyticsGet(ctx, teamA); a2.Exposure[0].OpenFindings != 5 {
			t.Errorf("with a new version: %d", a2.Exposure[0].OpenFindings)
		}
		_ = rep
	})
}
