package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/bia"
	"github.com/offloadsecurity/cspm/internal/cloud"
	"github.com/offloadsecurity/cspm/internal/compliance"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/orchestration"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/vuln"
)

// fillPath replaces every {param} with v.
func fillPath(pattern, v string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			b.WriteString(pattern)
			return b.String()
		}
		j := strings.IndexByte(pattern[i:], '}')
		b.WriteString(pattern[:i] + v)
		pattern = pattern[i+j+1:]
	}
}

// apiRoutes are the routes that need a permission, with the method and path
// to call them by.
func apiRoutes(e *env) []httpapi.Route {
	var out []httpapi.Route
	for _, r := range e.app.Router.Routes() {
		if r.Permission != rbac.Public && r.Method != "" {
			out = append(out, r)
		}
	}
	return out
}

// Every role against every route: 403 exactly where the role lacks the
// route's permission. Callers use API tokens so that logout and CSRF do not
// get in the way of the matrix.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	e := newEnv(t, reg, nil)
	tm := e.team("matrix")
	routes := apiRoutes(e)
	if len(routes) < 15 {
		t.Fatalf("only %d protected routes", len(routes))
	}
	for _, role := range rbac.Roles {
		c := e.tokenClient(e.user(tm.ID, role).Email)
		for _, r := range routes {
			var body any
			if r.Method != http.MethodGet && r.Method != http.MethodDelete {
				body = map[string]any{}
			}
			status, resp := c.do(r.Method, fillPath(r.Pattern, id.New()), body)
			allowed := rbac.Has(role, r.Permission)
			if allowed && (status == 403 || status == 401) {
				t.Errorf("%s %s %s: %d %s, but %s holds %s", role, r.Method, r.Pattern, status, resp, role, r.Permission)
			}
			if !allowed && status != 403 {
				t.Errorf("%s %s %s: %d, want 403 (lacks %s)", role, r.Method, r.Pattern, status, r.Permission)
			}
		}
	}
}

// readPosts are POSTs that change nothing: a question to the knowledge
// base is a body, and every role may ask.
var readPosts = map[string]bool{"POST /api/v1/knowledge/ask": true, "POST /api/v1/knowledge/ask/stream": true,
	"POST /api/v1/mute-rules/preview": true}

// ownWrites change only the caller's own data, which every role may: a
// user deletes their own knowledge base conversation.
var ownWrites = map[string]bool{"DELETE /api/v1/knowledge/conversations/{id}": true}

// A VIEWER gets 403 on every write, but for their own account.
func TestViewerCannotWrite(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	e := newEnv(t, reg, nil)
	viewer := e.login(e.user(e.team("ro").ID, rbac.Viewer).Email)
	writes := 0
	for _, r := range apiRoutes(e) {
		if r.Method == http.MethodGet || r.Permission == rbac.AccountSelf || readPosts[r.Method+" "+r.Pattern] || ownWrites[r.Method+" "+r.Pattern] {
			continue
		}
		writes++
		if status, body := viewer.do(r.Method, fillPath(r.Pattern, id.New()), map[string]any{}); status != 403 {
			t.Errorf("VIEWER %s %s = %d %s", r.Method, r.Pattern, status, body)
		}
	}
	if writes == 0 {
		t.Fatal("no write routes found")
	}
}

func TestUnauthenticatedGets401(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	e := newEnv(t, reg, nil)
	anon := e.anon()
	forged := e.anon()
	forged.bearer = "cspm_" + strings.Repeat("0", 64)
	for _, r := range apiRoutes(e) {
		for _, c := range []*client{anon, forged} {
			if status, _ := c.do(r.Method, fillPath(r.Pattern, id.New()), nil); status != 401 {
				t.Errorf("%s %s without valid credentials = %d, want 401", r.Method, r.Pattern, status)
			}
		}
	}
}

// validBodies are request bodies for tenant routes whose body the default does not fit.
var validBodies = map[string]any{
	"POST /api/v1/findings/{id}/mute":                    map[string]any{"kind": "mute", "reason": "isolation test"},
	"POST /api/v1/findings/{id}/triage":                  map[string]any{"state": "false_positive", "reason": "isolation test"},
	"PUT /api/v1/findings/{id}/assignee":                 map[string]any{"assignee_id": ""},
	"POST /api/v1/findings/{id}/comments":                map[string]any{"body": "isolation test"},
	"POST /api/v1/findings/{id}/risk-acceptance":         map[string]any{"reason": "isolation test"},
	"POST /api/v1/findings/{id}/risk-acceptance/approve": map[string]any{},
	"POST /api/v1/findings/{id}/risk-acceptance/reject":  map[string]any{},
	"POST /api/v1/findings/{id}/reopen":                  map[string]any{},
	"PATCH /api/v1/vulnerabilities/occurrences/{id}":     map[string]any{"status": "accepted", "reason": "isolation test"},
	"PATCH /api/v1/cloud/accounts/{id}":                  map[string]any{"alias": "renamed"},
	"PUT /api/v1/scan-schedules/{id}":                    map[string]any{"tools": []string{"prowler"}, "frequency": "daily", "hour": 3},
	"PUT /api/v1/bia/{id}":                               map[string]any{"name": "renamed", "tier": 2, "revision": 1},
	"PUT /api/v1/bia/{id}/dependencies":                  map[string]any{"dependencies": []any{}, "revision": 1},
	"PUT /api/v1/knowledge/documents/{id}/tags":          map[string]any{"tags": []string{"isolation"}},
	"POST /api/v1/bia/{id}/transitions":                  map[string]any{"action": "archive", "comment": "isolation test"},
	"PUT /api/v1/notifications/rules/{id}":               map[string]any{"name": "renamed", "event": "scan.failed"},
	"PUT /api/v1/tickets/integrations/{id}":              map[string]any{"kind": "github", "name": "renamed", "project": "acme/infra"},
}

var accountSeq atomic.Int64

// cloudAccountFixture registers an AWS account for the team.
func cloudAccountFixture(t *testing.T, e *env, teamA string) cloud.Account {
	t.Helper()
	uid := fmt.Sprintf("%012d", accountSeq.Add(1))
	a, err := e.app.Cloud.AccountCreate(context.Background(), teamA, "a@example.com", cloud.AccountParams{Provider: "aws", AccountUID: uid,
		Regions: []string{"eu-west-1"}, Credentials: &cloud.Credentials{Type: cloud.CredAccessKeys, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// vulnFixture imports one Trivy vulnerability into the team.
func vulnFixture(t *testing.T, e *env, teamA string) vuln.Occurrence {
	t.Helper()
	ctx := context.Background()
	doc := `{"ArtifactName":"registry/app:1","Results":[{"Target":"app","Vulnerabilities":[{"VulnerabilityID":"CVE-2099-0001",
		"PkgName":"libx","InstalledVersion":"1.0","FixedVersion":"1.1","Severity":"HIGH"}]}]}`
	if _, err := e.app.Findings.Import(ctx, strings.NewReader(doc), findings.ImportParams{TeamID: teamA, Format: "trivy"}); err != nil {
		t.Fatal(err)
	}
	occ, err := e.app.Vulns.OccurrenceList(ctx, teamA, "")
	if err != nil || len(occ) != 1 {
		t.Fatalf("fixture occurrence: %d, %v", len(occ), err)
	}
	return occ[0]
}

// kbFixture is a processed knowledge base document of the team and its chunk.
func kbFixture(t *testing.T, e *env, teamA string) knowledge.Passage {
	t.Helper()
	ctx := context.Background()
	res, err := e.app.Knowledge.DocumentUpload(ctx, teamA, knowledge.UploadParams{Name: "policy.md",
		Body: strings.NewReader("# Policy\n\nIsolation fixture text."), Actor: audit.Event{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.Knowledge.ProcessDocument(ctx, teamA, res.Document.ID, res.Document.Version); err != nil {
		t.Fatal(err)
	}
	ps, err := e.app.Knowledge.Search(ctx, teamA, knowledge.SearchParams{Query: "isolation fixture"})
	if err != nil || len(ps) != 1 {
		t.Fatalf("fixture passage: %v %v", ps, err)
	}
	return ps[0]
}

// tenantFixtures make, in team A, one object of each tenant-scoped kind a
// route's {id} can point at, returning its ID.
var tenantFixtures = map[string]func(t *testing.T, e *env, teamA string) string{
	"vulnerability": func(t *testing.T, e *env, teamA string) string { return vulnFixture(t, e, teamA).VulnID },
	"vuln_occurrence": func(t *testing.T, e *env, teamA string) string {
		return strconv.FormatInt(vulnFixture(t, e, teamA).ID, 10)
	},
	"user": func(t *testing.T, e *env, teamA string) string { return e.user(teamA, rbac.Viewer).ID },
	"session": func(t *testing.T, e *env, teamA string) string {
		c := e.login(e.user(teamA, rbac.Viewer).Email)
		_, body := c.do("GET", "/api/v1/auth/sessions", nil)
		return decode[struct {
			Current string `json:"current"`
		}](t, body).Current
	},
	"finding": func(t *testing.T, e *env, teamA string) string {
		res, err := e.app.Findings.Import(context.Background(), strings.NewReader(`[{"class_uid":2004,"finding_info":{"uid":"x"},"metadata":{"event_code":"c"}}]`),
			findings.ImportParams{TeamID: teamA})
		if err != nil {
			t.Fatal(err)
		}
		list, err := e.app.Findings.FindingList(context.Background(), findings.ListParams{TeamID: teamA, Scan: res.ScanID})
		if err != nil || len(list.Findings) != 1 {
			t.Fatalf("fixture finding: %v", err)
		}
		return strconv.FormatInt(list.Findings[0].ID, 10)
	},
	"scan": func(t *testing.T, e *env, teamA string) string {
		res, err := e.app.Findings.Import(context.Background(), strings.NewReader(`[]`), findings.ImportParams{TeamID: teamA, Format: "nuclei"})
		if err != nil {
			t.Fatal(err)
		}
		return res.ScanID
	},
	"cloud_account": func(t *testing.T, e *env, teamA string) string { return cloudAccountFixture(t, e, teamA).ID },
	"scan_run": func(t *testing.T, e *env, teamA string) string {
		run, err := e.app.Orchestration.InitiateScan(context.Background(), teamA, orchestration.ScanParams{ScanType: "container",
			Tools: []string{"grype"}, Targets: []string{"alpine:3.19"}})
		if err != nil {
			t.Fatal(err)
		}
		return run.ID
	},
	"scan_schedule": func(t *testing.T, e *env, teamA string) string {
		sc, err := e.app.Orchestration.ScheduleCreate(context.Background(), teamA, "a@example.com", orchestration.ScheduleParams{
			AccountID: cloudAccountFixture(t, e, teamA).ID, Tools: []string{"prowler"}, Frequency: "weekly", Weekday: 1, Hour: 2})
		if err != nil {
			t.Fatal(err)
		}
		return sc.ID
	},
	"mute_rule": func(t *testing.T, e *env, teamA string) string {
		r, _, err := e.app.Findings.MuteRuleCreate(context.Background(), teamA, "a@example.com", findings.MuteRule{Tool: "nmap", Reason: "lab"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	},
	bia.TenantResource: func(t *testing.T, e *env, teamA string) string {
		p, err := e.app.BIA.ProcessCreate(context.Background(), teamA, bia.Record{Name: "Payments", Tier: 1}, bia.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	},
	knowledge.DocumentResource: func(t *testing.T, e *env, teamA string) string {
		return kbFixture(t, e, teamA).DocumentID
	},
	knowledge.ChunkResource: func(t *testing.T, e *env, teamA string) string { return kbFixture(t, e, teamA).ChunkID },
	knowledge.ConversationResource: func(t *testing.T, e *env, teamA string) string {
		ans, err := e.app.Knowledge.Ask(context.Background(), teamA, knowledge.AskParams{Question: "isolation fixture",
			UserID: e.user(teamA, rbac.Admin).ID})
		if err != nil || ans.ConversationID == "" {
			t.Fatalf("fixture conversation: %+v %v", ans, err)
		}
		return ans.ConversationID
	},
	notify.IntegrationResource: func(t *testing.T, e *env, teamA string) string {
		it, err := e.app.Notify.IntegrationCreate(context.Background(), teamA, notify.IntegrationInput{Kind: notify.TicketGitHub, Name: "isolation",
			Project: "acme/infra", Token: "ghp_x"}, audit.Event{})
		if err != nil {
			t.Fatal(err)
		}
		return it.ID
	},
	notify.RuleResource: func(t *testing.T, e *env, teamA string) string {
		r, err := e.app.Notify.RuleCreate(context.Background(), teamA, notify.RuleInput{Name: "isolation", Event: notify.EventScanFailed,
			Channel: &notify.ChannelInput{Kind: notify.ChannelSlack, URL: "https://hooks.slack.com/services/T0/B0/X"}}, audit.Event{})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	},
	"token": func(t *testing.T, e *env, teamA string) string {
		c := e.login(e.user(teamA, rbac.Viewer).Email)
		_, body := c.do("POST", "/api/v1/auth/tokens", map[string]any{"name": "a", "expires_in_days": 1})
		return decode[struct {
			Token auth.APIToken `json:"token"`
		}](t, body).Token.ID
	},
}

// Team isolation, for every tenant-scoped route: an ADMIN of team B who
// names an object of team A gets 404, exactly as for an ID that does not exist.
func TestTeamIsolationOnEveryTenantRoute(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		teamA, teamB := e.team("a"), e.team("b")
		adminA := e.user(teamA.ID, rbac.Admin)
		bC := e.tokenClient(e.user(teamB.ID, rbac.Admin).Email)
		tenantRoutes := 0
		for path, item := range e.app.Router.OpenAPI().Paths {
			if !strings.Contains(path, "{") {
				continue
			}
			for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PATCH": item.Patch, "PUT": item.Put, "DELETE": item.Delete} {
				if op == nil {
					continue
				}
				kind, _ := op.Metadata[auth.TenantResourceKey].(string)
				if kind == compliance.SharedResource {
					continue // content every team sees (a framework), each with its own scores
				}
				fixture := tenantFixtures[kind]
				if fixture == nil {
					t.Errorf("%s %s takes an ID but declares no tenant resource with a fixture (%q)", method, path, kind)
					continue
				}
				tenantRoutes++
				objA := fixture(t, e, teamA.ID)
				// A body that passes validation, so that the answer is about the object.
				var reqBody any = map[string]any{"role": "VIEWER", "disabled": true}
				if b, ok := validBodies[method+" "+path]; ok {
					reqBody = b
				}
				status, body := bC.do(method, fillPath(path, objA), reqBody)
				if status != 404 {
					t.Errorf("team B: %s %s with team A's %s = %d %s, want 404", method, path, kind, status, body)
				}
				missing := id.New()
				if _, err := strconv.Atoi(objA); err == nil {
					missing = "987654321" // numeric IDs get a numeric stranger
				}
				if s2, _ := bC.do(method, fillPath(path, missing), reqBody); s2 != status {
					t.Errorf("%s %s: another team's ID answers %d but a missing ID %d", method, path, status, s2)
				}
			}
		}
		if tenantRoutes == 0 {
			t.Fatal("no tenant-scoped routes found")
		}
		// Lists and the audit log show nothing of team A.
		_, body := bC.do("GET", "/api/v1/users", nil)
		if strings.Contains(string(body), adminA.Email) || strings.Contains(string(body), teamA.ID) {
			t.Error("team B's user list shows team A")
		}
		e.login(adminA.Email)
		_, body = bC.do("GET", "/api/v1/audit?limit=500", nil)
		if strings.Contains(string(body), teamA.ID) || strings.Contains(string(body), adminA.Email) {
			t.Error("team B's audit log shows team A's events")
		}
	})
}

// On PostgreSQL, row-level security is a second wall: a query that forgets
// its team filter still sees only the team set on the transaction, and a
// query with no team set sees nothing. Superusers bypass RLS, so the probe
// runs as an ordinary role, as cspm should in production.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	u := dbtest.PostgresURL(t)
	if u == "" {
		t.Skip("CSPM_TEST_POSTGRES_URL not set")
	}
	reg := dbtest.Open(t, dbtest.Engine{Name: "postgres", URL: u})
	e := newEnv(t, reg, nil)
	teamA, teamB := e.team("a"), e.team("b")
	e.user(teamA.ID, rbac.Admin)
	e.user(teamB.ID, rbac.Admin)
	e.user(teamB.ID, rbac.Viewer)

	ctx := context.Background()
	d := reg.Get(db.Platform)
	role := "cspm_rls_probe"
	if _, err := d.ExecContext(ctx, `DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cspm_rls_probe') THEN CREATE ROLE cspm_rls_probe NOLOGIN; END IF;
		END $$`); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	if _, err := d.ExecContext(ctx, "GRANT USAGE ON SCHEMA "+d.Schema+" TO "+role+"; GRANT SELECT ON ALL TABLES IN SCHEMA "+d.Schema+" TO "+role); err != nil {
		t.Fatal(err)
	}
	count := func(setting string, value string) (n int) {
		t.Helper()
		tx, err := d.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+role); err != nil {
			t.Fatal(err)
		}
		if setting != "" {
			if _, err := tx.ExecContext(ctx, "SELECT set_config($1, $2, true)", setting, value); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil { // no team filter
			t.Fatal(err)
		}
		return n
	}
	if n := count("cspm.team_id", teamA.ID); n != 1 {
		t.Errorf("team A sees %d users without a filter, want 1", n)
	}
	if n := count("cspm.team_id", teamB.ID); n != 2 {
		t.Errorf("team B sees %d users without a filter, want 2", n)
	}
	if n := count("", ""); n != 0 {
		t.Errorf("no team set: %d users visible, want 0", n)
	}
}
