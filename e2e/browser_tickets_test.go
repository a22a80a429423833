package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// fakeGitHubIssues speaks the part of GitHub's REST API the platform calls
// to open a ticket: POST /repos/{owner}/{repo}/issues with a bearer token,
// answering 201 with the issue's number, html_url and state. It records
// every request, so a test can say what was sent and that nothing else was.
type fakeGitHubIssues struct {
	mu       sync.Mutex
	issues   []githubIssueIn // accepted, in the order they came
	refused  []string        // anything else: method, path, why
	srv      *httptest.Server
	repo     string
	token    string
	firstNum int
}

type githubIssueIn struct {
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Labels []string `json:"labels"`
	Number int      `json:"-"`
}

func newFakeGitHubIssues(t *testing.T, repo, token string) *fakeGitHubIssues {
	t.Helper()
	g := &fakeGitHubIssues{repo: repo, token: token, firstNum: 101}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.Header.Get("Authorization") != "Bearer "+g.token || r.Header.Get("Accept") != "application/vnd.github+json" {
			g.refused = append(g.refused, r.Method+" "+r.URL.Path+": bad credentials or Accept")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/repos/"+g.repo+"/issues" {
			g.refused = append(g.refused, r.Method+" "+r.URL.Path+": not an issue creation")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`))
			return
		}
		var in githubIssueIn
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" {
			g.refused = append(g.refused, r.Method+" "+r.URL.Path+": no title")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"message":"Validation Failed","errors":[{"resource":"Issue","code":"missing_field","field":"title"}]}`))
			return
		}
		in.Number = g.firstNum + len(g.issues)
		g.issues = append(g.issues, in)
		w.WriteHeader(http.StatusCreated)
		// The fields the platform reads, among the many GitHub answers.
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": 9000 + in.Number, "node_id": fmt.Sprintf("I_kwDO%d", in.Number), "number": in.Number,
			"url":      fmt.Sprintf("%s/repos/%s/issues/%d", g.srv.URL, g.repo, in.Number),
			"html_url": fmt.Sprintf("https://github.com/%s/issues/%d", g.repo, in.Number),
			"title":    in.Title, "state": "open", "state_reason": nil, "locked": false, "comments": 0,
			"labels": []map[string]string{{"name": "cspm"}},
		})
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHubIssues) received() ([]githubIssueIn, []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.issues), slices.Clone(g.refused)
}

// key is the ticket key the platform shows for an issue of the fake.
func (g *fakeGitHubIssues) key(n int) string { return fmt.Sprintf("%s#%d", g.repo, n) }

// The tickets flow of issue 22: an ADMIN connects GitHub Issues (a local
// server speaking its API) on the Integrations page, sends one finding of
// an imported Prowler report to it from the finding's detail and sees the
// issue's key there, then selects two other findings in the explorer and
// sends them with the bulk bar's "Send to ticket system". The fake GitHub
// receives exactly those three issues, and each finding's detail, read
// afresh, shows its own key.
func TestBrowserTicketsSendAndBulk(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	gh := newFakeGitHubIssues(t, "acme/infra", "ghp_e2eTicketsToken0123456789")
	// The fake GitHub is on loopback over http, which only a lab allows.
	p, password := servePlatform(t, "CSPM_INTEGRATIONS_ALLOW_INSECURE=true")
	signIn(t, step(t, ctx), p.url, "admin@cspm.local", password)
	uploadReport(t, step(t, ctx), "prowler/example_output_aws.ocsf.json")

	// GitHub Issues added on the Integrations page's Tickets tab.
	sctx := step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`nav a[href="/integrations"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="int-tab-tickets"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="int-tab-tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="integration-add"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="integration-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="integration-kind"]`)),
		// The modal moves while it opens, and so does the dropdown.
		steady(`[data-testid="integration-kind"]`),
		chromedp.Click(chromedp.CSS(`[data-testid="integration-kind"]`)),
		chromedp.WaitVisible(`//*[@role="option"][contains(., "GitHub Issues")]`),
		steady(`[role="listbox"]`),
		chromedp.Click(`//*[@role="option"][contains(., "GitHub Issues")]`),
		chromedp.WaitVisible(`//label[contains(., "Repository (owner/repo)")]`),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="integration-name"]`), "Infra issues"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="integration-url"]`), gh.srv.URL),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="integration-project"]`), "acme/infra"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="integration-token"]`), gh.token),
		chromedp.Click(chromedp.CSS(`[data-testid="integration-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ticket-webhook"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="integrations-table"] tbody tr`)),
		// The form's modal gone: a click during its closing lands on its overlay.
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="integration-name"]`)),
	); err != nil {
		shot(t, ctx, "cspm-tickets-integration-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="integrations-table"] tbody tr`); !strings.Contains(got, "Infra issues") || !strings.Contains(got, "GitHub Issues") || !strings.Contains(got, "acme/infra") {
		t.Fatalf("the integrations table shows %q", got)
	}
	if got := text(t, sctx, `[data-testid="ticket-webhook"]`); !strings.Contains(got, "/api/v1/tickets/webhooks/github?integration=") {
		t.Errorf("the webhook to configure in GitHub: %q", got)
	}
	if issues, refused := gh.received(); len(issues)+len(refused) != 0 {
		t.Fatalf("saving the integration called GitHub: %v %v", issues, refused)
	}

	// One finding sent from its detail: the first open failure.
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+"/findings?sort=title&order=asc"),
		chromedp.WaitVisible(chromedp.CSS(`th[aria-sort="ascending"] [data-testid="sort-title"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		shot(t, ctx, "cspm-tickets-list-failed.png")
		t.Fatal(err)
	}
	first := text(t, sctx, `[data-testid="findings-table"] tbody tr:nth-child(1) [data-testid="finding-title"]`)
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="findings-table"] tbody tr:nth-child(1) [data-testid="finding-title"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="finding-detail"] [data-testid="ticket-create"]`)),
		// The drawer slides in: a click computed on its way lands beside.
		steady(`[data-testid="finding-detail"] [data-testid="ticket-create"]`),
		chromedp.Click(chromedp.CSS(`[data-testid="finding-detail"] [data-testid="ticket-create"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ticket-send"]`)),
		steady(`[data-testid="ticket-send"]`),
		chromedp.Click(chromedp.CSS(`[data-testid="ticket-send"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="ticket-send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="finding-detail"] [data-testid="ticket-link"]`)),
	); err != nil {
		shot(t, ctx, "cspm-tickets-send-failed.png")
		t.Fatal(err)
	}
	issues, refused := gh.received()
	if len(issues) != 1 || len(refused) != 0 {
		t.Fatalf("after one send GitHub received %d issues (%+v), refused %q", len(issues), issues, refused)
	}
	checkIssue(t, issues[0], first)
	firstKey := gh.key(issues[0].Number)
	if got := text(t, sctx, `[data-testid="finding-detail"] [data-testid="ticket-link"]`); !strings.HasPrefix(got, firstKey) || !ticketBadges.MatchString(got) {
		shot(t, ctx, "cspm-tickets-detail.png")
		t.Fatalf("the detail's ticket shows %q, want %s on GitHub", got, firstKey)
	}
	if href, err := chromedp.Run(sctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid="finding-detail"] [data-testid="ticket-link"]`), "href")); err != nil ||
		href.Value != fmt.Sprintf("https://github.com/acme/infra/issues/%d", issues[0].Number) {
		t.Errorf("the ticket links to %q (%v)", href.Value, err)
	}

	// Two others selected in the explorer (MANUAL results, which the first
	// is not) and sent with the bulk bar.
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+"/findings?result=manual&sort=title&order=asc"),
		chromedp.WaitVisible(chromedp.CSS(`th[aria-sort="ascending"] [data-testid="sort-title"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		shot(t, ctx, "cspm-tickets-manual-failed.png")
		t.Fatal(err)
	}
	titles, err := chromedp.Run(sctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="finding-title"]')].slice(0, 2).map(e => e.innerText.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="findings-table"] tbody tr:nth-child(1) [data-testid="select-row"]`)),
		// The bulk bar appears above the table and pushes it down.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-bar"]`)),
		steady(`[data-testid="findings-table"] tbody tr:nth-child(2) [data-testid="select-row"]`),
		chromedp.Click(chromedp.CSS(`[data-testid="findings-table"] tbody tr:nth-child(2) [data-testid="select-row"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-ticket"]`)),
	); err != nil {
		shot(t, ctx, "cspm-tickets-select-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="findings-total"]`); got != "3 findings" {
		t.Fatalf("result=manual shows %q, want the report's 3 MANUAL results", got)
	}
	if len(titles) != 2 || slices.Contains(titles, first) || titles[0] == titles[1] {
		t.Fatalf("selected %q, want two findings other than %q", titles, first)
	}
	if got := text(t, sctx, `[data-testid="bulk-count"]`); got != "2 selected" {
		t.Fatalf("the bulk bar says %q", got)
	}
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="bulk-ticket"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ticket-send"]`)),
		steady(`[data-testid="ticket-send"]`),
		chromedp.Click(chromedp.CSS(`[data-testid="ticket-send"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="ticket-send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-result"]`)),
	); err != nil {
		shot(t, ctx, "cspm-tickets-bulk-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="bulk-result"]`); !strings.Contains(got, "2 created, 0 already ticketed") || strings.Contains(got, "failed") {
		t.Fatalf("the bulk send answered %q", got)
	}
	issues, refused = gh.received()
	if len(issues) != 3 || len(refused) != 0 {
		t.Fatalf("after the bulk send GitHub received %d issues (%+v), refused %q", len(issues), issues, refused)
	}
	keys := map[string]string{first: firstKey} // finding title -> ticket key
	for _, in := range issues[1:] {
		var matched string
		for _, title := range titles {
			if strings.HasSuffix(in.Title, "] "+title) {
				matched = title
			}
		}
		if matched == "" || keys[matched] != "" {
			t.Fatalf("GitHub received issue %q, not one per selected finding %q", in.Title, titles)
		}
		checkIssue(t, in, matched)
		keys[matched] = gh.key(in.Number)
	}

	// Each finding's detail, opened afresh, shows its own ticket.
	for _, title := range []string{first, titles[0], titles[1]} {
		sctx = step(t, ctx)
		row := fmt.Sprintf(`//tr[@data-testid="finding-row"]//*[@data-testid="finding-title"][normalize-space()=%q]`, title)
		if err := chromedp.Do(sctx,
			chromedp.Navigate(p.url+"/findings?all=1&sort=title&order=asc"),
			chromedp.WaitVisible(row),
			chromedp.Click(row),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="finding-detail"] [data-testid="ticket-link"]`)),
		); err != nil {
			shot(t, ctx, "cspm-tickets-reload-failed.png")
			t.Fatalf("%s: %v", title, err)
		}
		if got := text(t, sctx, `[data-testid="finding-detail"] [data-testid="ticket-link"]`); !strings.HasPrefix(got, keys[title]) || !ticketBadges.MatchString(got) {
			t.Errorf("%q's detail shows ticket %q, want %s on GitHub", title, got, keys[title])
		}
		if n, err := chromedp.Run(sctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="finding-detail"] [data-testid="ticket-link"]').length`)); err != nil || n != 1 {
			t.Errorf("%q's detail shows %d tickets (%v), want 1", title, n, err)
		}
	}
}

// steady waits until the element a selector finds stays put for a few
// animation frames: Mantine's drawers and modals move while they open, and
// chromedp clicks where the element was when it measured it.
func steady(sel string) chromedp.Action[chromedp.Void] {
	q, _ := json.Marshal(sel)
	js := `new Promise((resolve, reject) => {
		let last = "", same = 0, frames = 0;
		const tick = () => {
			const e = document.querySelector(` + string(q) + `);
			if (e) {
				const r = e.getBoundingClientRect();
				const k = [r.x, r.y, r.width, r.height].join(",");
				same = k === last ? same + 1 : 0;
				last = k;
				if (same >= 5 && r.width > 0) return resolve(true);
			}
			if (++frames > 1200) return reject(new Error("not steady: " + ` + string(q) + `));
			requestAnimationFrame(tick);
		};
		requestAnimationFrame(tick);
	})`
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)(ctx, t)
		return err
	})
}

// ticketBadges: a ticket link's status and system, upper-cased by CSS
// ("acme/infra#101 \nOPEN\nGITHUB").
var ticketBadges = regexp.MustCompile(`(?is)\bopen\s+github$`)

// checkIssue: what the platform put in a GitHub issue for a finding.
func checkIssue(t *testing.T, in githubIssueIn, title string) {
	t.Helper()
	if !strings.HasPrefix(in.Title, "[") || !strings.HasSuffix(in.Title, "] "+title) {
		t.Errorf("the issue's title %q: want [SEVERITY] %s", in.Title, title)
	}
	if !slices.Equal(in.Labels, []string{"cspm"}) {
		t.Errorf("the issue for %q has labels %q", title, in.Labels)
	}
	if !strings.Contains(in.Body, "\nTool: prowler") {
		t.Errorf("the issue for %q has body %q, want the finding's description and facts", title, in.Body)
	}
}
