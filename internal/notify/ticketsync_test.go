package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// liveSubjects are subjects whose states a test changes, as triage or a
// scan would; Close (a done ticket of an integration with close_on_done)
// closes one as not planned, as the app's mute does.
type liveSubjects struct {
	mu     sync.Mutex
	states map[string]SubjectState // kind:id
}

func newLiveSubjects() *liveSubjects { return &liveSubjects{states: map[string]SubjectState{}} }

func (l *liveSubjects) set(kind, id string, st SubjectState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states[kind+":"+id] = st
}

func (l *liveSubjects) Subject(_ context.Context, _, kind, id string) (Subject, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.states[kind+":"+id]
	if !ok {
		return Subject{}, db.ErrNotFound
	}
	return Subject{Kind: kind, ID: id, Title: "Public bucket " + id, Severity: "high", Path: "/findings?q=" + id, Closed: st.Closed}, nil
}

func (l *liveSubjects) Close(_ context.Context, _, kind, id, reason string) error {
	l.set(kind, id, SubjectState{Closed: true, NotPlanned: true, Reason: reason})
	return nil
}

func (l *liveSubjects) States(_ context.Context, _, kind string, ids []string) (map[string]SubjectState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]SubjectState{}
	for _, id := range ids {
		if st, ok := l.states[kind+":"+id]; ok {
			out[id] = st
		}
	}
	return out, nil
}

// jiraStatusJSON is a status as Jira's REST API v2 writes it in issues and
// transitions.
func jiraStatusJSON(name, category string) map[string]any {
	ids := map[string]int{"new": 2, "indeterminate": 4, "done": 3}
	return map[string]any{"self": "https://jira.example/rest/api/2/status/1", "name": name, "id": "1000" + strconv.Itoa(ids[category]),
		"statusCategory": map[string]any{"self": "https://jira.example/rest/api/2/statuscategory/" + strconv.Itoa(ids[category]),
			"id": ids[category], "key": category, "colorName": "blue-gray", "name": name}}
}

// jiraWorkflow speaks the parts of Jira's REST API v2 the two-way sync uses:
// create issue, remote link, GET issue?fields=status, GET and POST
// transitions (To Do 11, In Progress 21, Done 31: each listed unless the
// issue is in it), POST comment. failTransitions answers 503 to that many
// transition POSTs first.
type jiraWorkflow struct {
	mu              sync.Mutex
	status          map[string][2]string // key -> name, category
	comments        map[string][]string
	calls           []string
	failTransitions int
	srv             *httptest.Server
}

func newJiraWorkflow(t *testing.T) *jiraWorkflow {
	j := &jiraWorkflow{status: map[string][2]string{}, comments: map[string][]string{}}
	steps := []struct{ id, name, cat string }{{"11", "To Do", "new"}, {"21", "In Progress", "indeterminate"}, {"31", "Done", "done"}}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.calls = append(j.calls, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		var body map[string]any
		if r.Method == http.MethodPost {
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = fmt.Fprint(w, `{"errorMessages":["Unexpected end-of-input"],"errors":{}}`)
				return
			}
		}
		rest, _ := strings.CutPrefix(r.URL.Path, "/rest/api/2/issue")
		parts := strings.Split(strings.Trim(rest, "/"), "/")
		key := parts[0]
		_, known := j.status[key]
		switch {
		case r.Method == http.MethodPost && rest == "":
			key := fmt.Sprintf("SEC-%d", len(j.status)+1)
			j.status[key] = [2]string{"To Do", "new"}
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]string{"id": "100" + key[4:], "key": key, "self": j.srv.URL + "/rest/api/2/issue/" + key})
		case !known:
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprint(w, `{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`)
		case len(parts) == 2 && parts[1] == "remotelink":
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprint(w, `{"id":10000,"self":"x"}`)
		case r.Method == http.MethodGet && len(parts) == 1:
			if r.URL.Query().Get("fields") != "status" {
				http.Error(w, `{"errorMessages":["want fields=status"]}`, http.StatusBadRequest)
				return
			}
			st := j.status[key]
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "100", "key": key, "fields": map[string]any{"status": jiraStatusJSON(st[0], st[1])}})
		case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "transitions":
			var list []map[string]any
			for _, s := range steps {
				if s.name != j.status[key][0] {
					list = append(list, map[string]any{"id": s.id, "name": s.name, "hasScreen": false, "to": jiraStatusJSON(s.name, s.cat)})
				}
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"expand": "transitions", "transitions": list})
		case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "transitions":
			if j.failTransitions > 0 {
				j.failTransitions--
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprint(w, `{"errorMessages":["Service Unavailable"]}`)
				return
			}
			tr, _ := body["transition"].(map[string]any)
			for _, s := range steps {
				if tr["id"] == s.id && s.name != j.status[key][0] {
					j.status[key] = [2]string{s.name, s.cat}
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprint(w, `{"errorMessages":["It seems that you have tried to perform a workflow operation (null) that is not valid for the current state of this issue."],"errors":{}}`)
		case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "comment":
			text, _ := body["body"].(string)
			j.comments[key] = append(j.comments[key], text)
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"id":"1%d","body":%q}`, len(j.comments[key]), text)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jiraWorkflow) snapshot() (map[string][2]string, map[string][]string, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	st, cm := map[string][2]string{}, map[string][]string{}
	for k, v := range j.status {
		st[k] = v
	}
	for k, v := range j.comments {
		cm[k] = append([]string(nil), v...)
	}
	return st, cm, len(j.calls)
}

// waitTicket polls a subject's ticket until it is in state, or fails.
func waitTicket(t *testing.T, s *Service, teamID, kind, id, state string) Ticket {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := s.TicketList(context.Background(), teamID, kind, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].State == state {
			return list[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket of %s %s not %s after 20 s: %+v", kind, id, state, list)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func TestJiraSyncFromThePlatform(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		subj := newLiveSubjects()
		b := setup(t, reg, func(o *Options) { o.Subjects = subj })
		ctx := context.Background()
		jira := newJiraWorkflow(t)
		it, err := b.s.IntegrationCreate(ctx, teamA, IntegrationInput{Kind: TicketJira, Name: "Jira", BaseURL: jira.srv.URL, Project: "SEC",
			Username: "bot@example.com", Token: "jira-api-token", CloseOnDone: true}, admin)
		if err != nil {
			t.Fatal(err)
		}
		subj.set("finding", "1", SubjectState{})
		subj.set("finding", "2", SubjectState{})
		tickets, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"1", "2"}}, subj, admin)
		if err != nil || len(tickets) != 2 || tickets[0].IntegrationKind != TicketJira {
			t.Fatalf("tickets %+v %v", tickets, err)
		}
		// Nothing changed: a sync sends nothing.
		_, _, before := jira.snapshot()
		if err := b.s.TicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		if _, _, after := jira.snapshot(); after != before {
			t.Errorf("an idle sync called Jira %d times", after-before)
		}

		// A scan resolves finding 1; the job (through River, the first
		// transition refused once: a retry) moves SEC-1 to Done with a comment.
		jira.mu.Lock()
		jira.failTransitions = 1
		jira.mu.Unlock()
		subj.set("finding", "1", SubjectState{Closed: true, Reason: "the latest scan of its scope no longer reports the finding (resolved)"})
		if err := b.s.EnqueueTicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		got := waitTicket(t, b.s, teamA, "finding", "1", TicketDone)
		st, comments, _ := jira.snapshot()
		if st["SEC-1"] != [2]string{"Done", "done"} || got.StatusName != "Done" || got.SyncError != "" {
			t.Errorf("SEC-1 %v, ticket %+v", st["SEC-1"], got)
		}
		if len(comments["SEC-1"]) != 1 || !strings.Contains(comments["SEC-1"][0], "no longer reports the finding") {
			t.Errorf("comments %v", comments["SEC-1"])
		}
		if st["SEC-2"] != [2]string{"To Do", "new"} {
			t.Errorf("SEC-2 moved: %v", st["SEC-2"])
		}
		// Once more: nothing to do.
		_, _, before = jira.snapshot()
		if err := b.s.TicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		if _, _, after := jira.snapshot(); after != before {
			t.Errorf("a second sync called Jira %d times", after-before)
		}

		// The finding reopens: SEC-1 goes back to a To Do status.
		subj.set("finding", "1", SubjectState{Reason: "a scan reports the finding again (reopened)"})
		if err := b.s.TicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		st, comments, _ = jira.snapshot()
		if st["SEC-1"] != [2]string{"To Do", "new"} || len(comments["SEC-1"]) != 2 || !strings.Contains(comments["SEC-1"][1], "Reopened") {
			t.Errorf("after reopening: %v %v", st["SEC-1"], comments["SEC-1"])
		}
		if got := waitTicket(t, b.s, teamA, "finding", "1", TicketOpen); got.StatusName != "To Do" {
			t.Errorf("reopened ticket %+v", got)
		}

		// No bounce: Jira says SEC-2 is done, which closes finding 2
		// (close_on_done). The sync must not comment or transition it.
		jira.mu.Lock()
		jira.status["SEC-2"] = [2]string{"Done", "done"}
		jira.mu.Unlock()
		hook := []byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"SEC-2","fields":{"status":{"name":"Done","statusCategory":{"key":"done"}}}}}`)
		if err := b.s.JiraWebhook(ctx, it.ID, it.WebhookSecret, "", hook, subj); err != nil {
			t.Fatal(err)
		}
		_, _, before = jira.snapshot()
		// Someone reopens SEC-2 in Jira before any sync ran; the finding
		// stays closed, and the platform leaves the person's decision alone.
		jira.mu.Lock()
		jira.status["SEC-2"] = [2]string{"To Do", "new"}
		jira.mu.Unlock()
		hook = []byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"SEC-2","fields":{"status":{"name":"To Do","statusCategory":{"key":"new"}}}}}`)
		if err := b.s.JiraWebhook(ctx, it.ID, it.WebhookSecret, "", hook, subj); err != nil {
			t.Fatal(err)
		}
		if err := b.s.TicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		if _, comments, after := jira.snapshot(); after != before || len(comments["SEC-2"]) != 0 {
			t.Errorf("a webhook's change bounced back to Jira: %d calls, comments %v", after-before, comments["SEC-2"])
		}
		if got := waitTicket(t, b.s, teamA, "finding", "2", TicketOpen); got.StatusName != "To Do" {
			t.Errorf("SEC-2 %+v", got)
		}
	})
}

// A workflow with no way to a done status is a clear error on the ticket,
// and the job's error, for River to retry.
func TestJiraSyncWithoutADoneTransition(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		subj := newLiveSubjects()
		b := setup(t, reg, func(o *Options) { o.Subjects = subj })
		ctx := context.Background()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodPost && r.URL.Path == "/rest/api/2/issue":
				w.WriteHeader(http.StatusCreated)
				_, _ = fmt.Fprint(w, `{"id":"10001","key":"OPS-7","self":"x"}`)
			case r.Method == http.MethodGet && r.URL.Path == "/rest/api/2/issue/OPS-7":
				_ = json.NewEncoder(w).Encode(map[string]any{"key": "OPS-7", "fields": map[string]any{"status": jiraStatusJSON("Triage", "new")}})
			case r.Method == http.MethodGet && r.URL.Path == "/rest/api/2/issue/OPS-7/transitions":
				_ = json.NewEncoder(w).Encode(map[string]any{"transitions": []any{map[string]any{"id": "5", "name": "Start", "to": jiraStatusJSON("Working", "indeterminate")}}})
			default:
				w.WriteHeader(http.StatusCreated)
				_, _ = fmt.Fprint(w, `{}`)
			}
		}))
		t.Cleanup(srv.Close)
		it, err := b.s.IntegrationCreate(ctx, teamA, IntegrationInput{Kind: TicketJira, Name: "Ops", BaseURL: srv.URL, Project: "OPS", Token: "pat"}, admin)
		if err != nil {
			t.Fatal(err)
		}
		subj.set("vulnerability", "CVE-2024-3094", SubjectState{})
		if _, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "vulnerability", SubjectIDs: []string{"CVE-2024-3094"}}, subj, admin); err != nil {
			t.Fatal(err)
		}
		subj.set("vulnerability", "CVE-2024-3094", SubjectState{Closed: true, Reason: "fixed"})
		err = b.s.TicketSync(ctx, teamA)
		if !errors.Is(err, ErrTicketSystem) || !strings.Contains(err.Error(), `no transition from "Triage" leads to a done status`) {
			t.Fatalf("sync: %v", err)
		}
		list, _ := b.s.TicketList(ctx, teamA, "vulnerability", nil)
		if len(list) != 1 || list[0].State != TicketOpen || !strings.Contains(list[0].SyncError, "no transition") {
			t.Errorf("ticket %+v", list)
		}
	})
}

// githubIssues speaks GitHub's REST API for issues: create, comment, and
// PATCH state with state_reason.
type githubIssues struct {
	mu    sync.Mutex
	state map[int][2]string // number -> state, state_reason
	calls []string
	srv   *httptest.Server
}

func newGitHubIssues(t *testing.T) *githubIssues {
	g := &githubIssues{state: map[int][2]string{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer ghp_test" || r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" {
			http.Error(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`, http.StatusUnauthorized)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		rest, ok := strings.CutPrefix(r.URL.Path, "/repos/acme/infra/issues")
		if !ok {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		parts := strings.Split(strings.Trim(rest, "/"), "/")
		n, _ := strconv.Atoi(parts[0])
		issue := func(n int) map[string]any {
			st := g.state[n]
			var reason any
			if st[1] != "" {
				reason = st[1]
			}
			return map[string]any{"number": n, "html_url": fmt.Sprintf("https://github.com/acme/infra/issues/%d", n), "state": st[0], "state_reason": reason}
		}
		switch {
		case r.Method == http.MethodPost && rest == "":
			n := len(g.state) + 1
			g.state[n] = [2]string{"open", ""}
			g.calls = append(g.calls, "create")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(issue(n))
		case g.state[n][0] == "":
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "comments":
			g.calls = append(g.calls, fmt.Sprintf("comment %d: %s", n, body["body"]))
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": 1, "body": body["body"]})
		case r.Method == http.MethodPatch && len(parts) == 1:
			state, _ := body["state"].(string)
			reason, _ := body["state_reason"].(string)
			if state != "open" && state != "closed" {
				http.Error(w, `{"message":"Validation Failed"}`, http.StatusUnprocessableEntity)
				return
			}
			g.state[n] = [2]string{state, reason}
			g.calls = append(g.calls, fmt.Sprintf("patch %d: %s %s", n, state, reason))
			_ = json.NewEncoder(w).Encode(issue(n))
		default:
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func TestGitHubSyncFromThePlatform(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		subj := newLiveSubjects()
		b := setup(t, reg, func(o *Options) { o.Subjects = subj })
		ctx := context.Background()
		gh := newGitHubIssues(t)
		it, err := b.s.IntegrationCreate(ctx, teamA, IntegrationInput{Kind: TicketGitHub, Name: "GitHub", BaseURL: gh.srv.URL, Project: "acme/infra",
			Token: "ghp_test", WebhookSecret: "a-webhook-secret-of-ours"}, admin)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"7", "8"} {
			subj.set("finding", id, SubjectState{})
		}
		if _, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"7", "8"}}, subj, admin); err != nil {
			t.Fatal(err)
		}
		// 7 is triaged a false positive (not planned), 8 resolved by a scan.
		subj.set("finding", "7", SubjectState{Closed: true, NotPlanned: true, Reason: "the finding was triaged as a false positive: test bucket"})
		subj.set("finding", "8", SubjectState{Closed: true, Reason: "resolved"})
		if err := b.s.EnqueueTicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		if got := waitTicket(t, b.s, teamA, "finding", "7", TicketDone); got.StatusName != "closed (not_planned)" {
			t.Errorf("7: %+v", got)
		}
		waitTicket(t, b.s, teamA, "finding", "8", TicketDone)
		gh.mu.Lock()
		calls := strings.Join(gh.calls, "\n")
		gh.mu.Unlock()
		want := "create\ncreate\ncomment 1: Closed by OffloadSecurity CSPM: the finding was triaged as a false positive: test bucket.\npatch 1: closed not_planned\n" +
			"comment 2: Closed by OffloadSecurity CSPM: resolved.\npatch 2: closed completed"
		if calls != want {
			t.Errorf("GitHub was asked:\n%s\nwant:\n%s", calls, want)
		}
		// 8 reopens: so does its issue.
		subj.set("finding", "8", SubjectState{Reason: "a scan reports the finding again (reopened)"})
		if err := b.s.TicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		if got := waitTicket(t, b.s, teamA, "finding", "8", TicketOpen); got.StatusName != "open" {
			t.Errorf("8: %+v", got)
		}
		gh.mu.Lock()
		last := gh.calls[len(gh.calls)-1]
		gh.mu.Unlock()
		if last != "patch 2: open reopened" {
			t.Errorf("last call %q", last)
		}
		// A subject sent while already closed starts synced: no close.
		subj.set("finding", "9", SubjectState{Closed: true, Reason: "resolved"})
		if _, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"9"}}, subj, admin); err != nil {
			t.Fatal(err)
		}
		gh.mu.Lock()
		n := len(gh.calls)
		gh.mu.Unlock()
		if err := b.s.TicketSync(ctx, teamA); err != nil {
			t.Fatal(err)
		}
		gh.mu.Lock()
		defer gh.mu.Unlock()
		if len(gh.calls) != n {
			t.Errorf("closed a ticket opened for a closed finding: %v", gh.calls[n:])
		}
	})
}

func TestBulkTickets(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		subj := newLiveSubjects()
		b := setup(t, reg, func(o *Options) { o.Subjects = subj })
		ctx := context.Background()
		gh := newGitHubIssues(t)
		it, err := b.s.IntegrationCreate(ctx, teamA, IntegrationInput{Kind: TicketGitHub, Name: "GitHub", BaseURL: gh.srv.URL, Project: "acme/infra", Token: "ghp_test"}, admin)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"1", "2", "3"} {
			subj.set("finding", id, SubjectState{})
		}
		if _, err := b.s.TicketCreate(ctx, teamA, TicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"1"}}, subj, admin); err != nil {
			t.Fatal(err)
		}
		res, err := b.s.TicketBulk(ctx, teamA, BulkTicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"1", "2", "404", "2", "3"}}, subj, admin)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res {
			s := r.SubjectID + ":" + r.Status
			if r.Ticket != nil {
				s += ":" + r.Ticket.Key
			}
			if r.Error != "" {
				s += ":" + r.Error
			}
			got = append(got, s)
		}
		want := "1:exists:acme/infra#1 2:created:acme/infra#2 404:failed:finding 404: not found 3:created:acme/infra#3"
		if strings.Join(got, " ") != want {
			t.Errorf("bulk: %s\nwant: %s", strings.Join(got, " "), want)
		}
		// Team B may not use team A's integration; a wrong kind is refused.
		if _, err := b.s.TicketBulk(ctx, teamB, BulkTicketParams{IntegrationID: it.ID, SubjectKind: "finding", SubjectIDs: []string{"2"}}, subj, admin); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("team B: %v", err)
		}
		if _, err := b.s.TicketBulk(ctx, teamA, BulkTicketParams{IntegrationID: it.ID, SubjectKind: "host", SubjectIDs: []string{"2"}}, subj, admin); !errors.Is(err, ErrInvalid) {
			t.Errorf("kind host: %v", err)
		}
	})
}
