package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// subjects describes fixed findings and records what it was asked to close.
type subjects struct {
	mu     sync.Mutex
	closed []string
}

func (s *subjects) Subject(_ context.Context, teamID, kind, id string) (Subject, error) {
	if id == "missing" {
		return Subject{}, db.ErrNotFound
	}
	return Subject{Kind: kind, ID: id, Title: "S3 bucket is public: " + id, Description: "Block public access.", Severity: "high",
		Path: "/findings/" + id}, nil
}

func (s *subjects) Close(_ context.Context, teamID, kind, id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = append(s.closed, kind+":"+id)
	return nil
}

// States knows no subject: these tests leave the sync out.
func (s *subjects) States(context.Context, string, string, []string) (map[string]SubjectState, error) {
	return map[string]SubjectState{}, nil
}

// jiraServer speaks Jira's REST API v2: POST /rest/api/2/issue answers
// {id,key,self}; remote links are accepted.
type jiraServer struct {
	mu     sync.Mutex
	issues []map[string]any
	auth   []string
	links  int
	srv    *httptest.Server
}

func newJira(t *testing.T) *jiraServer {
	j := &jiraServer{}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.auth = append(j.auth, r.Header.Get("Authorization"))
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"errorMessages":["bad json"]}`, http.StatusBadRequest)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/rest/api/2/issue":
			f, _ := body["fields"].(map[string]any)
			p, _ := f["project"].(map[string]any)
			if p["key"] != "SEC" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = fmt.Fprint(w, `{"errorMessages":[],"errors":{"project":"valid project is required"}}`)
				return
			}
			j.issues = append(j.issues, f)
			n := len(j.issues)
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"id":"1000%d","key":"SEC-%d","self":"%s/rest/api/2/issue/1000%d"}`, n, n, j.srv.URL, n)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/remotelink"):
			j.links++
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprint(w, `{"id":1,"self":"x"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(j.srv.Close)
	return j
}

// githubServer speaks GitHub's REST API: POST /repos/{o}/{r}/issues
// answers {number,html_url,state}.
type githubServer struct {
	mu     sync.Mutex
	bodies []map[string]any
	srv    *httptest.Server
}

func newGitHub(t *testing.T) *githubServer {
	g := &githubServer{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer ghp_test" || r.Header.Get("Accept") != "application/vnd.github+json" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/repos/acme/infra/issues" {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		g.bodies = append(g.bodies, body)
		n := len(g.bodies) + 40
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"number":%d,"html_url":"https://github.com/acme/infra/issues/%d","state":"open"}`, n, n)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func hubSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestJiraTickets(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		jira := newJira(t)
		subj := &subjects{}
		it, err := b.s.IntegrationCreate(ctx, teamA, IntegrationInput{Kind: TicketJira, Name: "Jira", BaseURL: jira.srv.URL, Project: "SEC",
			Username: "bot@example.com", Token: "jira-api-token", CloseOnDone: false}, admin)
		if err != nil {
			t.Fatal(err)
		}
		if it.WebhookSecret == "" || !strings.HasPrefix(it.WebhookURL, "https://cspm.example.com/api/v1/tickets/webhooks/jira?integration=") {
			t.Fatalf("integration %+v", it)
		}
		if list, _ := b.s.IntegrationList(ctx, teamA); len(list) != 1 || list[0].WebhookSecret != "" {
			t.Errorf("list answers %+v", list)
		}
		tickets, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"41", "42"}}, subj, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(tickets) != 2 || tickets[0].Key != "SEC-1" || tickets[0].URL != jira.srv.URL+"/browse/SEC-1" || tickets[0].State != TicketOpen {
			t.Fatalf("tickets %+v", tickets)
		}
		jira.mu.Lock()
		f := jira.issues[0]
		auth := jira.auth[0]
		links := jira.links
		jira.mu.Unlock()
		if f["summary"] != "[HIGH] S3 bucket is public: 41" || !strings.Contains(f["description"].(string), "https://cspm.example.com/findings/41") ||
			f["issuetype"].(map[string]any)["name"] != "Task" || links != 2 {
			t.Errorf("jira issue %v, %d links", f, links)
		}
		if auth != "Basic "+basic("bot@example.com", "jira-api-token") {
			t.Errorf("jira auth %q", auth)
		}
		// Sending again answers the same ticket.
		again, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"41"}}, subj, admin)
		if err != nil || len(again) != 1 || again[0].ID != tickets[0].ID {
			t.Errorf("second push: %+v %v", again, err)
		}
		// Another team cannot use the integration.
		if _, err := b.s.TicketCreate(ctx, teamB, TicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"1"}}, subj, admin); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("team B pushes to team A's Jira: %v", err)
		}

		hook := []byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"SEC-1","fields":{"status":{"name":"Done","statusCategory":{"key":"done"}}}}}`)
		if err := b.s.JiraWebhook(ctx, it.ID, "wrong-secret", "", hook, subj); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("wrong secret: %v", err)
		}
		if err := b.s.JiraWebhook(ctx, it.ID, it.WebhookSecret, "", hook, subj); err != nil {
			t.Fatal(err)
		}
		list, err := b.s.TicketList(ctx, teamA, "finding", []string{"41"})
		if err != nil || len(list) != 1 || list[0].State != TicketDone || list[0].StatusName != "Done" {
			t.Errorf("after the webhook: %+v %v", list, err)
		}
		if len(subj.closed) != 0 {
			t.Errorf("closed %v though the team did not ask", subj.closed)
		}
		// The team asks: a done ticket closes its finding. Signed this time.
		in := IntegrationInput{Kind: TicketJira, Name: "Jira", BaseURL: jira.srv.URL, Project: "SEC", Username: "bot@example.com", CloseOnDone: true}
		if _, err := b.s.IntegrationUpdate(ctx, teamA, it.ID, in, admin); err != nil {
			t.Fatal(err)
		}
		hook2 := []byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"SEC-2","fields":{"status":{"name":"Closed","statusCategory":{"key":"done"}}}}}`)
		if err := b.s.JiraWebhook(ctx, it.ID, "", hubSign(it.WebhookSecret, hook2), hook2, subj); err != nil {
			t.Fatal(err)
		}
		if strings.Join(subj.closed, ",") != "finding:42" {
			t.Errorf("closed %v", subj.closed)
		}
		// A project Jira refuses is a clear error.
		bad := IntegrationInput{Kind: TicketJira, Name: "Wrong", BaseURL: jira.srv.URL, Project: "NOPE", Token: "x"}
		it2, err := b.s.IntegrationCreate(ctx, teamA, bad, admin)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it2.ID, SubjectKind: "finding", SubjectIDs: []string{"43"}}, subj, admin)
		if !errors.Is(err, ErrTicketSystem) || !strings.Contains(err.Error(), "valid project is required") {
			t.Errorf("refused project: %v", err)
		}
	})
}

func TestGitHubTickets(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		gh := newGitHub(t)
		subj := &subjects{}
		it, err := b.s.IntegrationCreate(ctx, teamA, IntegrationInput{Kind: TicketGitHub, Name: "GitHub", BaseURL: gh.srv.URL, Project: "acme/infra",
			Token: "ghp_test", WebhookSecret: "a-webhook-secret-of-ours", CloseOnDone: true}, admin)
		if err != nil {
			t.Fatal(err)
		}
		if it.WebhookSecret != "" {
			t.Error("a secret the admin chose is answered back")
		}
		tickets, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "vulnerability", SubjectIDs: []string{"CVE-2024-3094"}}, subj, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(tickets) != 1 || tickets[0].Key != "acme/infra#41" || tickets[0].URL != "https://github.com/acme/infra/issues/41" {
			t.Fatalf("tickets %+v", tickets)
		}
		gh.mu.Lock()
		body := gh.bodies[0]
		gh.mu.Unlock()
		if !strings.Contains(body["body"].(string), "(https://cspm.example.com/findings/CVE-2024-3094)") {
			t.Errorf("issue body %v", body)
		}
		event := []byte(`{"action":"closed","issue":{"number":41,"state":"closed","state_reason":"completed","html_url":"https://github.com/acme/infra/issues/41"},
			"repository":{"full_name":"acme/infra"}}`)
		if err := b.s.GitHubWebhook(ctx, it.ID, "issues", hubSign("another-secret-entirely", event), event, subj); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("bad signature: %v", err)
		}
		if err := b.s.GitHubWebhook(ctx, it.ID, "issues", hubSign("a-webhook-secret-of-ours", event), event, subj); err != nil {
			t.Fatal(err)
		}
		list, _ := b.s.TicketList(ctx, teamA, "vulnerability", nil)
		if len(list) != 1 || list[0].State != TicketDone || list[0].StatusName != "closed (completed)" {
			t.Errorf("after closed: %+v", list)
		}
		if strings.Join(subj.closed, ",") != "vulnerability:CVE-2024-3094" {
			t.Errorf("closed %v", subj.closed)
		}
		reopened := []byte(`{"action":"reopened","issue":{"number":41,"state":"open"},"repository":{"full_name":"acme/infra"}}`)
		if err := b.s.GitHubWebhook(ctx, it.ID, "issues", hubSign("a-webhook-secret-of-ours", reopened), reopened, subj); err != nil {
			t.Fatal(err)
		}
		if list, _ := b.s.TicketList(ctx, teamA, "vulnerability", nil); list[0].State != TicketOpen {
			t.Errorf("after reopened: %+v", list)
		}
		// Bad input.
		for _, in := range []IntegrationInput{
			{Kind: TicketGitHub, Name: "x", Project: "noslash", Token: "t"},
			{Kind: TicketGitHub, Name: "x", Project: "a/b", Token: "t", BaseURL: "http://169.254.169.254"},
			{Kind: TicketJira, Name: "x", Project: "SEC", Token: "t"},
			{Kind: "gitlab", Name: "x", Project: "a/b", Token: "t"},
			{Kind: TicketGitHub, Name: "x", Project: "a/b"},
		} {
			if _, err := b.s.IntegrationCreate(ctx, teamA, in, admin); err == nil {
				t.Errorf("%+v accepted", in)
			}
		}
	})
}

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// Rotating the secret key reseals channel secrets and ticket credentials:
// a service with the new key opens them, one with the old key does not.
func TestResealUnderANewKey(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg, nil)
		ctx := context.Background()
		r, err := b.s.RuleCreate(ctx, teamA, webhookRule("https://hooks.example.com/x"), admin)
		if err != nil {
			t.Fatal(err)
		}
		it, err := b.s.IntegrationCreate(ctx, teamA, IntegrationInput{Kind: TicketGitHub, Name: "gh", Project: "a/b", Token: "ghp_rotate"}, admin)
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, secrets.KeySize)
		key[0] = 7
		to, _ := secrets.NewBox(key)
		var n int
		if err := reg.Get(db.Platform).AsSystem(ctx, func(q db.Querier) error {
			n, err = ResealTx(ctx, q, b.s.box, to)
			return err
		}); err != nil || n != 3 {
			t.Fatalf("resealed %d: %v", n, err)
		}
		fresh := New(reg, Options{Box: to, Queue: b.queue, AllowInsecure: true})
		err = reg.Get(db.Platform).ReadInTeam(ctx, teamA, func(q db.Querier) error {
			full, err := fresh.ruleGet(ctx, q, teamA, r.ID, true)
			if err == nil && full.secret.URL != "https://hooks.example.com/x" {
				t.Errorf("rule secret %+v", full.secret)
			}
			if err != nil {
				return err
			}
			g, err := fresh.integrationGet(ctx, q, teamA, it.ID, true)
			if err == nil && g.token != "ghp_rotate" {
				t.Errorf("token %q", g.token)
			}
			if err != nil {
				return err
			}
			_, err = b.s.integrationGet(ctx, q, teamA, it.ID, true)
			if !errors.Is(err, secrets.ErrOpen) {
				t.Errorf("the old key still opens: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
