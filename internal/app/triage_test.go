package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// triageReport is a Prowler OCSF report: n failing aws findings, one
// MANUAL, one gcp failure.
func triageReport(n int) string {
	item := func(provider, account, check, status string) string {
		return fmt.Sprintf(`{"class_uid":2004,"status_code":%q,"severity":"High","finding_info":{"uid":"%s-%s","title":"%s"},`+
			`"metadata":{"event_code":%q,"product":{"name":"Prowler"}},"cloud":{"provider":%q,"account":{"uid":%q},"region":"eu-west-1"},`+
			`"resources":[{"uid":"arn:%s","region":"eu-west-1"}]}`, status, provider, check, check, check, provider, account, check)
	}
	var items []string
	for i := range n {
		items = append(items, item("aws", "111", fmt.Sprintf("aws_check_%d", i), "FAIL"))
	}
	items = append(items, item("aws", "111", "aws_manual", "MANUAL"), item("gcp", "proj-1", "gcp_fw", "FAIL"))
	return "[" + strings.Join(items, ",") + "]"
}

// Bulk actions through the API: by IDs and by the list's filter (the
// query parameter names), counted, audited, with the single mute's
// permission; the assignee must be a user of the team.
func TestBulkTriageThroughTheAPI(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	e := newEnv(t, reg, nil)
	tm, other := e.team("acme"), e.team("other")
	if _, err := e.app.Findings.Import(context.Background(), strings.NewReader(triageReport(5)), findings.ImportParams{TeamID: tm.ID}); err != nil {
		t.Fatal(err)
	}
	analystUser := e.user(tm.ID, rbac.SecurityAnalyst)
	analyst := e.tokenClient(analystUser.Email)
	viewer := e.tokenClient(e.user(tm.ID, rbac.Viewer).Email)

	// The default view of the UI: open failures (MANUAL is not one).
	_, body := analyst.do("GET", "/api/v1/findings?status=open,reopened&result=fail&provider=aws&account=111&region=eu-west-1", nil)
	l := decode[findings.ListResult](t, body)
	if l.Total != 5 {
		t.Fatalf("aws open failures = %d %s", l.Total, body)
	}
	ids := []int64{l.Findings[0].ID, l.Findings[1].ID}

	if s, _ := viewer.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "mute", "ids": ids, "reason": "lab"}); s != 403 {
		t.Fatalf("viewer bulk = %d", s)
	}
	if s, _ := analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "mute", "reason": "lab"}); s != 422 {
		t.Fatalf("neither ids nor filter = %d", s)
	}
	if s, _ := analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "mute", "ids": ids, "filter": map[string]any{}, "reason": "lab"}); s != 422 {
		t.Fatalf("both ids and filter = %d", s)
	}
	s, body := analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "mute", "ids": ids, "reason": "lab"})
	if r := decode[findings.BulkResult](t, body); s != 200 || r.Matched != 2 || r.Changed != 2 {
		t.Fatalf("bulk by ids = %d %s", s, body)
	}
	until := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	s, body = analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "accept_risk", "reason": "legacy, replaced in Q1", "until": until,
		"filter": map[string]any{"status": []string{"open", "reopened"}, "result": []string{"fail"}, "provider": []string{"aws"}}})
	if r := decode[findings.BulkResult](t, body); s != 200 || r.Matched != 3 || r.Changed != 3 || r.Pending != 0 {
		t.Fatalf("bulk by filter = %d %s", s, body)
	}
	_, body = analyst.do("GET", "/api/v1/findings?triage=risk_accepted", nil)
	if l := decode[findings.ListResult](t, body); l.Total != 3 || l.Findings[0].MutedReason != "legacy, replaced in Q1" || l.Findings[0].MutedUntil == nil {
		t.Fatalf("risk accepted = %s", body)
	}

	// Assignees: a user of the team, not of another team, not a stranger.
	if s, body := analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "assign", "ids": ids, "assignee_id": e.user(other.ID, rbac.SecurityAnalyst).ID}); s != 422 {
		t.Fatalf("an assignee of another team = %d %s", s, body)
	}
	if s, _ := analyst.do("PUT", fmt.Sprintf("/api/v1/findings/%d/assignee", ids[0]), map[string]any{"assignee_id": e.user(other.ID, rbac.Admin).ID}); s != 422 {
		t.Fatalf("single assign to another team's user = %d", s)
	}
	s, body = analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "assign", "ids": ids, "assignee_id": analystUser.ID})
	if r := decode[findings.BulkResult](t, body); s != 200 || r.Changed != 2 {
		t.Fatalf("assign = %d %s", s, body)
	}
	_, body = analyst.do("GET", "/api/v1/findings?assignee="+analystUser.ID, nil)
	if l := decode[findings.ListResult](t, body); l.Total != 2 || l.Findings[0].AssigneeEmail != analystUser.Email {
		t.Fatalf("assignee filter = %s", body)
	}
	_, body = analyst.do("GET", "/api/v1/triage/assignees", nil)
	if !strings.Contains(string(body), analystUser.Email) || strings.Contains(string(body), other.ID) {
		t.Fatalf("assignees = %s", body)
	}

	// Reopen everything muted, by filter; the export takes the same filters.
	s, body = analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "reopen", "filter": map[string]any{"status": []string{"muted"}}})
	if r := decode[findings.BulkResult](t, body); s != 200 || r.Changed != 5 {
		t.Fatalf("reopen = %d %s", s, body)
	}
	s, body = analyst.do("GET", "/api/v1/findings/export?format=json&result=manual", nil)
	if s != 200 || strings.Count(string(body), "\n") != 1 || !strings.Contains(string(body), "aws_manual") {
		t.Fatalf("export of result=manual = %d %s", s, body)
	}
	actions := auditActions(t, e, tm.ID)
	for _, want := range []string{"finding.bulk_mute", "finding.bulk_accept_risk", "finding.bulk_assign", "finding.bulk_reopen"} {
		if actions[want] != 1 {
			t.Errorf("%s audited %d times", want, actions[want])
		}
	}
}

// With approval required, the requester cannot approve their own risk
// acceptance, an analyst cannot approve at all, and a security manager
// other than the requester can; comments are capped.
func TestRiskApprovalSegregationThroughTheAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		tm := e.team("acme")
		if _, err := e.app.Findings.Import(context.Background(), strings.NewReader(triageReport(1)), findings.ImportParams{TeamID: tm.ID}); err != nil {
			t.Fatal(err)
		}
		admin := e.tokenClient(e.user(tm.ID, rbac.Admin).Email)
		manager := e.tokenClient(e.user(tm.ID, rbac.SecurityManager).Email)
		officer := e.tokenClient(e.user(tm.ID, rbac.ComplianceOfficer).Email)
		analyst := e.tokenClient(e.user(tm.ID, rbac.SecurityAnalyst).Email)
		if s, _ := manager.do("PUT", "/api/v1/triage/settings", map[string]any{"risk_acceptance_requires_approval": true}); s != 403 {
			t.Fatalf("a manager changed the settings: %d", s)
		}
		if s, body := admin.do("PUT", "/api/v1/triage/settings", map[string]any{"risk_acceptance_requires_approval": true}); s != 200 {
			t.Fatalf("settings = %d %s", s, body)
		}
		_, body := analyst.do("GET", "/api/v1/findings?check=aws_check_0", nil)
		fid := decode[findings.ListResult](t, body).Findings[0].ID
		path := fmt.Sprintf("/api/v1/findings/%d/risk-acceptance", fid)
		// The single mute's risk acceptance waits for approval too.
		if s, body := manager.do("POST", fmt.Sprintf("/api/v1/findings/%d/mute", fid), map[string]any{"kind": "risk_accepted", "reason": "WAF"}); s != 204 {
			t.Fatalf("mute as risk accepted = %d %s", s, body)
		}
		_, body = manager.do("GET", fmt.Sprintf("/api/v1/findings/%d", fid), nil)
		if d := decode[findings.Detail](t, body); d.Status != "open" || !d.RiskPending {
			t.Fatalf("pending after the mute route: %s %v", d.Status, d.RiskPending)
		}
		if s, body := manager.do("POST", path, map[string]any{"reason": "WAF in front"}); s != 409 {
			t.Fatalf("a second request = %d %s", s, body)
		}
		if s, body := manager.do("POST", path+"/approve", map[string]any{}); s != 403 || !strings.Contains(string(body), "requester") {
			t.Fatalf("the requester approved: %d %s", s, body)
		}
		if s, _ := analyst.do("POST", path+"/approve", map[string]any{}); s != 403 {
			t.Fatalf("an analyst approved: %d", s)
		}
		s, body := officer.do("POST", path+"/approve", map[string]any{"note": "checked the WAF rules"})
		ra := decode[findings.RiskAcceptance](t, body)
		if s != 200 || ra.State != "approved" || ra.DecidedBy == "" || ra.RequestedBy == ra.DecidedBy {
			t.Fatalf("officer approve = %d %s", s, body)
		}
		_, body = analyst.do("GET", fmt.Sprintf("/api/v1/findings/%d", fid), nil)
		d := decode[findings.Detail](t, body)
		if d.Status != "muted" || d.MuteKind != "risk_accepted" || len(d.RiskAcceptances) != 1 || d.RiskAcceptances[0].Note != "checked the WAF rules" {
			t.Fatalf("approved finding = %s", body)
		}

		// Comments: capped at 4,000 characters.
		if s, _ := analyst.do("POST", fmt.Sprintf("/api/v1/findings/%d/comments", fid), map[string]any{"body": strings.Repeat("x", findings.MaxCommentChars+1)}); s != 422 {
			t.Fatalf("an oversized comment = %d", s)
		}
		if s, body := analyst.do("POST", fmt.Sprintf("/api/v1/findings/%d/comments", fid), map[string]any{"body": "ticket OPS-12"}); s != 201 {
			t.Fatalf("comment = %d %s", s, body)
		}
		if s, _ := analyst.do("POST", fmt.Sprintf("/api/v1/findings/%d/triage", fid), map[string]any{"state": "false_positive", "reason": "test bucket"}); s != 204 {
			t.Fatalf("triage = %d", s)
		}
		_, body = analyst.do("GET", fmt.Sprintf("/api/v1/findings/%d", fid), nil)
		d = decode[findings.Detail](t, body)
		if d.Status != "false_positive" || len(d.Comments) != 1 || d.RiskAcceptances[0].State != "revoked" {
			t.Fatalf("after comment and triage = %s", body)
		}
	})
}
