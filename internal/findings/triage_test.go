package findings_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/id"
)

// triageItem is one Prowler OCSF finding in eu-west-1 of account 111 on
// aws, of another account on another provider (another scope).
func triageItem(provider, check, resource, status string) string {
	account := "111"
	if provider != "aws" {
		account = "proj-1"
	}
	return fmt.Sprintf(`{"class_uid":2004,"status_code":%q,"severity":"High","finding_info":{"uid":"%s-%s-%s","title":"%s on %s"},`+
		`"metadata":{"event_code":%q,"product":{"name":"Prowler"}},"cloud":{"provider":%q,"account":{"uid":%q},"region":"eu-west-1"},`+
		`"resources":[{"uid":%q,"region":"eu-west-1"}]}`, status, provider, check, resource, check, resource, check, provider, account, resource)
}

func importItems(t *testing.T, st *findings.Store, team string, items ...string) findings.ImportResult {
	t.Helper()
	res, err := st.Import(context.Background(), strings.NewReader("["+strings.Join(items, ",")+"]"), findings.ImportParams{TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func list(t *testing.T, st *findings.Store, p findings.ListParams) findings.ListResult {
	t.Helper()
	res, err := st.FindingList(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func idOf(t *testing.T, st *findings.Store, team, check string) int64 {
	t.Helper()
	l := list(t, st, findings.ListParams{TeamID: team, Check: []string{check}})
	if len(l.Findings) != 1 {
		t.Fatalf("%s: %d findings", check, len(l.Findings))
	}
	return l.Findings[0].ID
}

// The list filters by result and provider; the default view (open
// failures) leaves MANUAL and PASS out; "new since the previous scan" is
// what the latest scan of each scope created.
func TestListFiltersResultProviderAndNewSince(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		st := findings.NewStore(reg)
		team := id.New()
		first := []string{triageItem("aws", "s3_public", "arn:a", "FAIL"), triageItem("aws", "iam_review", "arn:b", "MANUAL"),
			triageItem("aws", "s3_versioning", "arn:a", "PASS"), triageItem("gcp", "fw_open", "fw-1", "FAIL")}
		importItems(t, st, team, first...)
		open := findings.ListParams{TeamID: team, Status: []string{"open", "reopened"}, Result: []string{"fail"}}
		if l := list(t, st, open); l.Total != 2 {
			t.Fatalf("open failures = %d, want 2 (MANUAL and PASS left out)", l.Total)
		}
		if l := list(t, st, findings.ListParams{TeamID: team, Result: []string{"manual"}}); l.Total != 1 || l.Findings[0].CheckID != "iam_review" {
			t.Fatalf("manual = %+v", l.Findings)
		}
		aws := open
		aws.Provider = []string{"aws"}
		if l := list(t, st, aws); l.Total != 1 || l.Findings[0].Provider != "aws" {
			t.Fatalf("aws open failures = %d", l.Total)
		}
		if _, err := st.FindingList(context.Background(), findings.ListParams{TeamID: team, Result: []string{"bogus"}}); err == nil {
			t.Fatal("an unknown result was accepted")
		}
		newOnly := findings.ListParams{TeamID: team, NewSincePreviousScan: true}
		if l := list(t, st, newOnly); l.Total != 4 {
			t.Fatalf("after the first scan, new = %d, want all 4", l.Total)
		}
		// The next scan of the aws scope reports one more finding; the gcp
		// scope is not scanned again, and its finding is still new in its
		// scope's latest scan.
		importItems(t, st, team, append(first[:3:3], triageItem("aws", "ec2_open", "i-1", "FAIL"))...)
		l := list(t, st, newOnly)
		var checks []string
		for _, f := range l.Findings {
			checks = append(checks, f.CheckID)
		}
		if l.Total != 2 || !strings.Contains(strings.Join(checks, ","), "ec2_open") || !strings.Contains(strings.Join(checks, ","), "fw_open") {
			t.Fatalf("new since the previous scan = %v", checks)
		}
	})
}

// A false-positive finding leaves the open failures, shows its own state,
// and a later failing import of the same report does not reopen it; a
// pass does not resolve it either. Ending the triage puts it back.
func TestFalsePositiveNotReopenedByLaterFailingImport(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		fail := triageItem("aws", "s3_public", "arn:a", "FAIL")
		importItems(t, st, team, fail)
		fid := idOf(t, st, team, "s3_public")
		if err := st.FindingTriageSet(ctx, team, fid, "a@example.com", findings.StatusFalsePositive, "the bucket is a website"); err != nil {
			t.Fatal(err)
		}
		if err := st.FindingTriageSet(ctx, team, fid, "a@example.com", findings.StatusOutOfScope, ""); !errors.Is(err, findings.ErrInvalidTriage) {
			t.Fatalf("triage without a reason: %v", err)
		}
		for _, item := range []string{fail, triageItem("aws", "s3_public", "arn:a", "PASS"), fail} {
			res := importItems(t, st, team, item)
			if len(res.OpenedBySeverity) != 0 {
				t.Fatalf("import opened %v", res.OpenedBySeverity)
			}
			d, err := st.FindingGet(ctx, team, fid)
			if err != nil || d.Status != findings.StatusFalsePositive || d.TriageReason != "the bucket is a website" || d.TriagedBy != "a@example.com" {
				t.Fatalf("after a later import: %+v %v", d.Finding, err)
			}
		}
		if l := list(t, st, findings.ListParams{TeamID: team, Status: []string{"open", "reopened"}}); l.Total != 0 {
			t.Fatalf("a false positive counts as open: %d", l.Total)
		}
		if l := list(t, st, findings.ListParams{TeamID: team, Triage: []string{"false_positive"}}); l.Total != 1 {
			t.Fatalf("triage filter = %d", l.Total)
		}
		// A scan that no longer reports it leaves it as it is.
		importItems(t, st, team, triageItem("aws", "other", "arn:z", "FAIL"))
		if d, _ := st.FindingGet(ctx, team, fid); d.Status != findings.StatusFalsePositive {
			t.Fatalf("missing from a scan: %s", d.Status)
		}
		if err := st.FindingTriageSet(ctx, team, fid, "b@example.com", "none", ""); err != nil {
			t.Fatal(err)
		}
		d, err := st.FindingGet(ctx, team, fid)
		if err != nil || d.Status != findings.StatusOpen || d.TriageReason != "" {
			t.Fatalf("after none: %+v %v", d.Finding, err)
		}
		var changes []string
		for _, h := range d.History {
			if h.Change == "triaged" {
				changes = append(changes, h.FromStatus+">"+h.ToStatus+" by "+h.Actor)
			}
		}
		if strings.Join(changes, ", ") != "open>false_positive by a@example.com, false_positive>open by b@example.com" {
			t.Fatalf("history = %v", changes)
		}
	})
}

// Bulk actions act on IDs or on a filter, count what matched and what
// changed, and refuse what they cannot do.
func TestBulkByIDsAndByFilter(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		var items []string
		for i := range 6 {
			items = append(items, triageItem("aws", fmt.Sprintf("check_%d", i), "arn:a", "FAIL"))
		}
		items = append(items, triageItem("gcp", "fw_open", "fw-1", "FAIL"))
		importItems(t, st, team, items...)
		ids := []int64{idOf(t, st, team, "check_0"), idOf(t, st, team, "check_1")}
		res, err := st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, Actor: "a@example.com", IDs: ids, Action: findings.BulkMute, Reason: "lab"})
		if err != nil || res.Matched != 2 || res.Changed != 2 {
			t.Fatalf("mute by ids = %+v %v", res, err)
		}
		// By filter: every aws finding; the two muted ones match but do not change.
		filter := &findings.ListParams{Provider: []string{"aws"}}
		res, err = st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, Actor: "a@example.com", Filter: filter, Action: findings.BulkMute, Reason: "lab"})
		if err != nil || res.Matched != 6 || res.Changed != 4 {
			t.Fatalf("mute by filter = %+v %v", res, err)
		}
		// Another team's IDs match nothing.
		res, err = st.FindingsBulk(ctx, findings.BulkParams{TeamID: id.New(), Actor: "x", IDs: ids, Action: findings.BulkReopen})
		if err != nil || res.Matched != 0 {
			t.Fatalf("another team = %+v %v", res, err)
		}
		res, err = st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, Actor: "a@example.com", Filter: &findings.ListParams{Status: []string{"muted"}}, Action: findings.BulkReopen})
		if err != nil || res.Changed != 6 {
			t.Fatalf("reopen = %+v %v", res, err)
		}
		res, err = st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, Actor: "a@example.com", IDs: ids, Action: findings.BulkAssign,
			To: findings.Assignee{ID: "u1", Email: "u1@example.com"}})
		if err != nil || res.Changed != 2 {
			t.Fatalf("assign = %+v %v", res, err)
		}
		if l := list(t, st, findings.ListParams{TeamID: team, Assignee: []string{"u1"}}); l.Total != 2 || l.Findings[0].AssigneeEmail != "u1@example.com" {
			t.Fatalf("assignee filter = %d", l.Total)
		}
		if l := list(t, st, findings.ListParams{TeamID: team, Assignee: []string{"none"}}); l.Total != 5 {
			t.Fatalf("unassigned = %d", l.Total)
		}
		if l := list(t, st, findings.ListParams{TeamID: team, Assignee: []string{"none", "u1"}}); l.Total != 7 {
			t.Fatalf("unassigned or u1 = %d", l.Total)
		}
		res, err = st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, Actor: "a@example.com", Filter: &findings.ListParams{Provider: []string{"gcp"}},
			Action: findings.BulkTriage, State: findings.StatusOutOfScope, Reason: "not ours"})
		if err != nil || res.Changed != 1 {
			t.Fatalf("triage = %+v %v", res, err)
		}
		if _, err := st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, Filter: filter, Action: findings.BulkMute}); !errors.Is(err, findings.ErrInvalidTriage) {
			t.Fatalf("mute without a reason: %v", err)
		}
		past := time.Now().Add(-time.Hour)
		if _, err := st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, Filter: filter, Action: findings.BulkAcceptRisk, Reason: "r", Until: &past}); !errors.Is(err, findings.ErrInvalidTriage) {
			t.Fatalf("an expiry in the past: %v", err)
		}
		var tooMany *findings.TooManyError
		big := make([]int64, findings.BulkMax+1)
		if _, err := st.FindingsBulk(ctx, findings.BulkParams{TeamID: team, IDs: big, Action: findings.BulkReopen}); !errors.As(err, &tooMany) {
			t.Fatalf("more than the cap: %v", err)
		}
	})
}

// A team that requires approval keeps a risk acceptance pending (the
// finding still an open failure) until someone other than the requester
// approves it; then the finding is risk-accepted until the expiry, and
// the history says who asked and who approved.
func TestRiskAcceptanceApproval(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		importItems(t, st, team, triageItem("aws", "s3_public", "arn:a", "FAIL"), triageItem("aws", "s3_other", "arn:b", "FAIL"))
		fid := idOf(t, st, team, "s3_public")
		until := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)

		// Without the setting, the acceptance is approved at once.
		other := idOf(t, st, team, "s3_other")
		ra, err := st.FindingRiskAccept(ctx, team, other, "req@example.com", "legacy", &until)
		if err != nil || ra.State != findings.RiskApproved || ra.DecidedBy != "req@example.com" {
			t.Fatalf("no approval required: %+v %v", ra, err)
		}
		if _, err := st.TriageSettingsSet(ctx, team, "admin@example.com", findings.TriageSettings{RiskAcceptanceRequiresApproval: true}); err != nil {
			t.Fatal(err)
		}
		if s, err := st.TriageSettingsGet(ctx, team); err != nil || !s.RiskAcceptanceRequiresApproval || s.UpdatedBy != "admin@example.com" {
			t.Fatalf("settings = %+v %v", s, err)
		}
		ra, err = st.FindingRiskAccept(ctx, team, fid, "req@example.com", "compensating control", &until)
		if err != nil || ra.State != findings.RiskPending {
			t.Fatalf("request = %+v %v", ra, err)
		}
		d, _ := st.FindingGet(ctx, team, fid)
		if d.Status != findings.StatusOpen || !d.RiskPending || len(d.RiskAcceptances) != 1 {
			t.Fatalf("pending: %+v", d.Finding)
		}
		if l := list(t, st, findings.ListParams{TeamID: team, Triage: []string{"risk_pending"}}); l.Total != 1 || !l.Findings[0].RiskPending {
			t.Fatalf("risk_pending filter = %d", l.Total)
		}
		if _, err := st.FindingRiskAccept(ctx, team, fid, "req@example.com", "again", nil); !errors.Is(err, findings.ErrNotPending) {
			t.Fatalf("a second request: %v", err)
		}
		if _, err := st.RiskAcceptanceDecide(ctx, team, fid, "REQ@example.com", true, ""); !errors.Is(err, findings.ErrSelfApproval) {
			t.Fatalf("the requester approved: %v", err)
		}
		ra, err = st.RiskAcceptanceDecide(ctx, team, fid, "boss@example.com", true, "ok until the migration")
		if err != nil || ra.State != findings.RiskApproved || ra.DecidedBy != "boss@example.com" {
			t.Fatalf("approve = %+v %v", ra, err)
		}
		if _, err := st.RiskAcceptanceDecide(ctx, team, fid, "boss@example.com", true, ""); !errors.Is(err, findings.ErrNotPending) {
			t.Fatalf("approved twice: %v", err)
		}
		d, _ = st.FindingGet(ctx, team, fid)
		if d.Status != findings.StatusMuted || d.MuteKind != findings.MuteRiskAccepted || d.MutedBy != "req@example.com" ||
			d.MutedUntil == nil || !d.MutedUntil.Equal(until) || d.RiskPending {
			t.Fatalf("approved finding: %+v", d.Finding)
		}
		var changes []string
		for _, h := range d.History {
			changes = append(changes, h.Change+":"+h.Actor)
		}
		if got := strings.Join(changes, ","); !strings.Contains(got, "risk_requested:req@example.com,risk_approved:boss@example.com,muted:req@example.com") {
			t.Fatalf("history = %s", got)
		}
		// Reopening revokes it.
		if err := st.FindingReopen(ctx, team, fid, "boss@example.com"); err != nil {
			t.Fatal(err)
		}
		d, _ = st.FindingGet(ctx, team, fid)
		if d.Status != findings.StatusOpen || d.RiskAcceptances[0].State != findings.RiskRevoked {
			t.Fatalf("reopened: %s %+v", d.Status, d.RiskAcceptances)
		}
	})
}

// Comments are capped, listed on the finding and in its history.
// An approved acceptance whose time is up ends: the finding is unmuted
// and the acceptance reads expired, not approved.
func TestRiskAcceptanceExpires(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		importItems(t, st, team, triageItem("aws", "s3_public", "arn:a", "FAIL"), triageItem("aws", "s3_other", "arn:b", "FAIL"))
		short, long := idOf(t, st, team, "s3_public"), idOf(t, st, team, "s3_other")
		soon, later := time.Now().Add(200*time.Millisecond).UTC(), time.Now().Add(24*time.Hour).UTC()
		for fid, until := range map[int64]*time.Time{short: &soon, long: &later} {
			if ra, err := st.FindingRiskAccept(ctx, team, fid, "req@example.com", "window", until); err != nil || ra.State != findings.RiskApproved {
				t.Fatalf("accept %d: %+v %v", fid, ra, err)
			}
		}
		time.Sleep(300 * time.Millisecond)
		if n, err := st.ExpireMutes(ctx); err != nil || n != 1 {
			t.Fatalf("expired %d, %v", n, err)
		}
		d, err := st.FindingGet(ctx, team, short)
		if err != nil || d.Status != findings.StatusOpen || d.RiskAcceptances[0].State != findings.RiskExpired {
			t.Fatalf("after expiry: %s %+v %v", d.Status, d.RiskAcceptances, err)
		}
		d, err = st.FindingGet(ctx, team, long)
		if err != nil || d.Status != findings.StatusMuted || d.RiskAcceptances[0].State != findings.RiskApproved {
			t.Fatalf("still accepted: %s %+v %v", d.Status, d.RiskAcceptances, err)
		}
	})
}

func TestCommentsAndCap(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		st := findings.NewStore(reg)
		team := id.New()
		importItems(t, st, team, triageItem("aws", "s3_public", "arn:a", "FAIL"))
		fid := idOf(t, st, team, "s3_public")
		if _, err := st.CommentAdd(ctx, team, fid, "a@example.com", strings.Repeat("é", findings.MaxCommentChars+1)); !errors.Is(err, findings.ErrInvalidTriage) {
			t.Fatalf("an oversized comment: %v", err)
		}
		if _, err := st.CommentAdd(ctx, team, fid, "a@example.com", "   "); !errors.Is(err, findings.ErrInvalidTriage) {
			t.Fatalf("an empty comment: %v", err)
		}
		if _, err := st.CommentAdd(ctx, id.New(), fid, "a@example.com", "hi"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("another team's finding: %v", err)
		}
		c, err := st.CommentAdd(ctx, team, fid, "a@example.com", strings.Repeat("é", findings.MaxCommentChars))
		if err != nil || c.ID == 0 {
			t.Fatal(err)
		}
		if _, err := st.CommentAdd(ctx, team, fid, "b@example.com", "owner asked\nsecond line"); err != nil {
			t.Fatal(err)
		}
		d, err := st.FindingGet(ctx, team, fid)
		if err != nil || len(d.Comments) != 2 || d.Comments[1].Author != "b@example.com" || d.Comments[1].Body != "owner asked\nsecond line" {
			t.Fatalf("comments = %+v %v", d.Comments, err)
		}
		last := d.History[len(d.History)-1]
		if last.Change != "commented" || last.Actor != "b@example.com" || last.Note != "owner asked" {
			t.Fatalf("history = %+v", last)
		}
	})
}
