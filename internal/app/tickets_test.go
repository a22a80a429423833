package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// hubReport is a Security Hub export of n failed critical controls, each on
// a bucket tagged with tag.
func hubReport(n int, tag string) string {
	k, v, _ := strings.Cut(tag, "=")
	var items []string
	for i := range n {
		items = append(items, fmt.Sprintf(`{"SchemaVersion":"2018-10-08","Id":"arn:aws:securityhub:eu-west-1:111122223333:finding/%d",
			"ProductArn":"arn:aws:securityhub:eu-west-1::product/aws/securityhub","GeneratorId":"security-control/S3.%d","AwsAccountId":"111122223333",
			"Region":"eu-west-1","Title":"S3 bucket %d is public","Description":"d","ProductFields":{"ControlId":"S3.%d"},"Severity":{"Normalized":90},
			"Compliance":{"Status":"FAILED"},"Resources":[{"Type":"AwsS3Bucket","Id":"arn:aws:s3:::bucket-%d","Tags":{%q:%q}}]}`, i, i, i, i, i, k, v))
	}
	return `{"Findings":[` + strings.Join(items, ",") + `]}`
}

// A process that dies between an import's commit and its notifications
// leaves them in the import's outbox, and the drain sends them; an import
// that rolled back leaves nothing to send. The event carries the opened
// findings' resource tags: a rule filtering on env=prod hears it, one on
// env=dev does not.
func TestImportOutboxAndTagFilters(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnvWithWorkers(t, reg, func(c *config.Config) { c.IntegrationsAllowInsecure = true })
		teamID := e.team("acme").ID
		admin := e.tokenClient(e.user(teamID, rbac.Admin).Email)
		ctx := context.Background()
		var (
			mu   sync.Mutex
			hits = map[string][]map[string]any{}
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m map[string]any
			_ = json.NewDecoder(r.Body).Decode(&m)
			mu.Lock()
			defer mu.Unlock()
			hits[r.URL.Path] = append(hits[r.URL.Path], m)
		}))
		t.Cleanup(srv.Close)
		rules := map[string]string{}
		for _, env := range []string{"prod", "dev"} {
			status, body := admin.do("POST", "/api/v1/notifications/rules", map[string]any{"name": env, "event": "finding.new",
				"filters": map[string]any{"tags": []string{"Env=" + env}}, "channel": map[string]any{"kind": "webhook", "url": srv.URL + "/" + env}})
			if status != 201 {
				t.Fatalf("rule %s: %d %s", env, status, body)
			}
			rules[env] = decode[notify.Rule](t, body).ID
		}

		// Imports done by the store alone: as if the process died right
		// after each commit, before the work that follows it.
		res, err := e.app.Findings.Import(ctx, strings.NewReader(hubReport(3, "env=prod")), findings.ImportParams{TeamID: teamID, Format: "asff", Filename: "hub.json"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.OpenedTags, []string{"env=prod"}) || res.OpenedBySeverity["critical"] != 3 {
			t.Fatalf("import result %+v", res)
		}
		if _, err := e.app.Findings.Import(ctx, strings.NewReader(`{"Findings":[{"SchemaVersion":`), findings.ImportParams{TeamID: teamID,
			Format: "asff", Filename: "broken.json"}); err == nil {
			t.Fatal("a broken report imported")
		}
		pending, err := e.app.Findings.ImportOutboxPending(ctx, 0, 10)
		if err != nil || len(pending) != 1 || pending[0].ScanID != res.ScanID || pending[0].Filename != "hub.json" {
			t.Fatalf("outbox %+v %v", pending, err)
		}
		// The periodic job leaves a fresh row to its import's own job.
		if n, err := e.app.Imports.DrainOutbox(ctx, time.Hour); err != nil || n != 0 {
			t.Errorf("drain of fresh rows: %d %v", n, err)
		}
		if n, err := e.app.Imports.DrainOutbox(ctx, 0); err != nil || n != 1 {
			t.Fatalf("drain: %d %v", n, err)
		}
		if pending, _ := e.app.Findings.ImportOutboxPending(ctx, 0, 10); len(pending) != 0 {
			t.Errorf("outbox after the drain: %+v", pending)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := hits["/prod"]
			mu.Unlock()
			if len(got) > 0 {
				ev, _ := got[0]["event"].(map[string]any)
				if tags, _ := ev["tags"].([]any); ev["type"] != "finding.new" || len(tags) != 1 || tags[0] != "env=prod" {
					t.Errorf("event %v", ev)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the prod rule heard nothing 30 s after the drain")
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The event was routed to every rule in one job: the dev rule's log
		// is empty because its filter did not match.
		_, body := admin.do("GET", "/api/v1/notifications/rules/"+rules["dev"]+"/deliveries", nil)
		if list := decode[struct {
			Deliveries []notify.Delivery `json:"deliveries"`
		}](t, body); len(list.Deliveries) != 0 {
			t.Errorf("the dev rule matched: %s", body)
		}
	})
}

// ghIssues records what the platform asks GitHub's issues API.
type ghIssues struct {
	mu    sync.Mutex
	n     int
	calls []string
	srv   *httptest.Server
}

func newGHIssues(t *testing.T) *ghIssues {
	g := &ghIssues{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		rest, ok := strings.CutPrefix(r.URL.Path, "/repos/acme/infra/issues")
		switch {
		case !ok || r.Header.Get("Authorization") != "Bearer ghp_app":
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		case r.Method == http.MethodPost && rest == "":
			g.n++
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"number":%d,"html_url":"https://github.com/acme/infra/issues/%d","state":"open"}`, g.n, g.n)
		case r.Method == http.MethodPost && strings.HasSuffix(rest, "/comments"):
			g.calls = append(g.calls, "comment"+strings.TrimSuffix(rest, "/comments"))
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":1}`)
		case r.Method == http.MethodPatch:
			g.calls = append(g.calls, fmt.Sprintf("patch%s %s %s", rest, body["state"], body["state_reason"]))
			_, _ = fmt.Fprintf(w, `{"number":%s,"state":%q,"state_reason":%q}`, strings.Trim(rest, "/"), body["state"], body["state_reason"])
		default:
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// An analyst sends a selection of findings to GitHub in bulk; the findings
// API answers their tickets (list and detail); triaging one as a false
// positive closes its issue as not planned through the sync job.
func TestFindingTicketsBulkAndSync(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnvWithWorkers(t, reg, func(c *config.Config) { c.IntegrationsAllowInsecure = true })
		teamID := e.team("acme").ID
		admin := e.tokenClient(e.user(teamID, rbac.Admin).Email)
		analyst := e.tokenClient(e.user(teamID, rbac.SecurityAnalyst).Email)
		gh := newGHIssues(t)
		status, body := admin.do("POST", "/api/v1/tickets/integrations", map[string]any{"kind": "github", "name": "infra", "base_url": gh.srv.URL,
			"project": "acme/infra", "token": "ghp_app"})
		if status != 201 {
			t.Fatalf("integration: %d %s", status, body)
		}
		it := decode[notify.Integration](t, body)
		if _, err := e.app.Findings.Import(context.Background(), strings.NewReader(hubReport(3, "env=prod")),
			findings.ImportParams{TeamID: teamID, Format: "asff", Filename: "hub.json"}); err != nil {
			t.Fatal(err)
		}
		_, body = analyst.do("GET", "/api/v1/findings?sort=title&order=asc", nil)
		page := decode[findings.ListResult](t, body)
		if len(page.Findings) != 3 {
			t.Fatalf("findings: %s", body)
		}
		ids := []string{strconv.FormatInt(page.Findings[0].ID, 10), strconv.FormatInt(page.Findings[1].ID, 10)}

		status, body = analyst.do("POST", "/api/v1/tickets/bulk", map[string]any{"integration_id": it.ID, "subject_kind": "finding", "subject_ids": ids})
		res := decode[struct {
			Results []notify.BulkTicketResult `json:"results"`
		}](t, body)
		if status != 200 || len(res.Results) != 2 || res.Results[0].Status != "created" || res.Results[1].Status != "created" {
			t.Fatalf("bulk: %d %s", status, body)
		}
		status, body = analyst.do("POST", "/api/v1/tickets/bulk", map[string]any{"integration_id": it.ID, "subject_kind": "finding", "subject_ids": ids[:1]})
		if status != 200 || !strings.Contains(string(body), `"status":"exists"`) {
			t.Errorf("bulk again: %d %s", status, body)
		}
		other := e.tokenClient(e.user(e.team("other").ID, rbac.Admin).Email)
		if status, body := other.do("POST", "/api/v1/tickets/bulk", map[string]any{"integration_id": it.ID, "subject_kind": "finding", "subject_ids": ids}); status != 404 {
			t.Errorf("another team's integration: %d %s", status, body)
		}
		viewer := e.tokenClient(e.user(teamID, rbac.Viewer).Email)
		if status, _ := viewer.do("POST", "/api/v1/tickets/bulk", map[string]any{"integration_id": it.ID, "subject_kind": "finding", "subject_ids": ids}); status != 403 {
			t.Errorf("viewer sends tickets: %d", status)
		}

		_, body = analyst.do("GET", "/api/v1/findings/"+ids[0], nil)
		d := decode[findings.Detail](t, body)
		if len(d.Tickets) != 1 || d.Tickets[0].Key != "acme/infra#1" || d.Tickets[0].IntegrationKind != "github" || d.Tickets[0].State != "open" {
			t.Errorf("detail tickets: %s", body)
		}
		_, body = analyst.do("GET", "/api/v1/findings?sort=title&order=asc", nil)
		page = decode[findings.ListResult](t, body)
		if len(page.Findings[0].Tickets) != 1 || len(page.Findings[1].Tickets) != 1 || len(page.Findings[2].Tickets) != 0 {
			t.Errorf("list tickets: %s", body)
		}

		// Triage closes the ticket, after the commit, through the job.
		fid, _ := strconv.ParseInt(ids[0], 10, 64)
		if status, body := analyst.do("POST", "/api/v1/findings/bulk", map[string]any{"action": "triage", "state": "false_positive",
			"reason": "a test bucket", "ids": []int64{fid}}); status != 200 {
			t.Fatalf("triage: %d %s", status, body)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			gh.mu.Lock()
			calls := strings.Join(gh.calls, ",")
			gh.mu.Unlock()
			if calls == "comment/1,patch/1 closed not_planned" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GitHub was asked %q 30 s after the triage", calls)
			}
			time.Sleep(50 * time.Millisecond)
		}
		deadline = time.Now().Add(10 * time.Second)
		for {
			_, body = analyst.do("GET", "/api/v1/findings/"+ids[0], nil)
			if strings.Contains(string(body), `"state":"done"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ticket not done: %s", body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
