package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// layoutWidths are the window widths every page must fit: a laptop and a phone.
var layoutWidths = []int64{1440, 390}

// overflowJS measures the page, the header and, when one is open, the
// drawer: anything wider than its box is content a person must scroll
// sideways to read (or cannot reach at all). Scroll containers inside a
// box (a table's ScrollArea, a code block) keep their overflow to
// themselves, so they do not count.
const overflowJS = `(() => {
  const out = { page: document.documentElement.scrollWidth, window: window.innerWidth, problems: [] };
  if (out.page > out.window) out.problems.push("page is " + out.page + " px wide in a " + out.window + " px window");
  const header = document.querySelector("header");
  if (header) {
    if (header.scrollWidth > header.clientWidth) out.problems.push("header content is " + header.scrollWidth + " px wide in " + header.clientWidth + " px");
    if (header.scrollHeight > header.clientHeight + 1) out.problems.push("header wraps: " + header.scrollHeight + " px tall in " + header.clientHeight + " px");
  }
  for (const d of document.querySelectorAll(".mantine-Drawer-content")) {
    if (d.scrollWidth > d.clientWidth) out.problems.push("drawer content is " + d.scrollWidth + " px wide in " + d.clientWidth + " px");
    for (const inner of d.querySelectorAll("[data-testid$='-detail'], .mantine-Drawer-header, .mantine-Drawer-body")) {
      if (inner.scrollWidth > inner.clientWidth) out.problems.push("drawer " + (inner.dataset.testid || inner.className.split(" ")[0]) + " is " + inner.scrollWidth + " px wide in " + inner.clientWidth + " px");
    }
    const close = d.querySelector(".mantine-Drawer-close");
    if (close) {
      const r = close.getBoundingClientRect();
      if (r.right > window.innerWidth || r.left < 0) out.problems.push("drawer close button is off screen at x=" + Math.round(r.left));
    }
  }
  return JSON.stringify(out);
})()`

type layoutMeasure struct {
	Page     int      `json:"page"`
	Window   int      `json:"window"`
	Problems []string `json:"problems"`
}

// layoutPage is one page of the UI: where it is, what shows it has loaded,
// and what to do once it has (open a drawer, a tab).
type layoutPage struct {
	name  string
	path  string
	ready string
	then  []chromedp.Action[chromedp.Void]
}

// Every page of the UI, with content, at a laptop's and a phone's width:
// nothing may be wider than the window, the header must not wrap, and the
// finding and vulnerability drawers must fit their content. Screenshots of
// each land in $TMPDIR/cspm-layout/ for a person to look at.
func TestBrowserLayout(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	trivy := scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{Sample: scannertest.Sample(t, "trivy/scheme_2_many_vulns.json")})
	// Each phase gets its own step deadline, derived from the browser's
	// context (a step's context would bound every later one).
	ctx := browser(t)
	// A KEV source that refuses connections, so the vulnerabilities page
	// shows a failed sync.
	p, password := servePlatform(t, "CSPM_TRIVY_BIN="+trivy, "CSPM_KEV_URL=http://127.0.0.1:1/known_exploited_vulnerabilities.json")
	uctx := step(t, ctx)
	signIn(t, uctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(uctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`))); err != nil {
		t.Fatal(err)
	}
	// Before anything is imported, each page says what to do next.
	for _, empty := range []struct{ path, sel string }{
		{"/", "posture-empty"}, {"/findings", "findings-empty"}, {"/scans", "scans-empty"}, {"/vulnerabilities", "vulns-empty"},
	} {
		if err := chromedp.Do(uctx,
			chromedp.Navigate(p.url+empty.path),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="`+empty.sel+`"] a[href="/import"]`)),
		); err != nil {
			shot(t, ctx, "cspm-layout-empty-failed.png")
			t.Fatalf("%s says nothing about importing a report: %v", empty.path, err)
		}
	}
	for _, sample := range []string{"prowler/example_output_aws.ocsf.json", "zap/dvwa_baseline_dojo.xml", "trivy/scheme_2_many_vulns.json"} {
		// Each import its own step: under the race detector with the other
		// tests running, three of them and the empty pages did not fit one.
		uctx = step(t, ctx)
		uploadReport(t, uctx, sample)
		if err := chromedp.Do(uctx, chromedp.Navigate(p.url+"/")); err != nil {
			t.Fatal(err)
		}
	}
	run := startContainerScan(t, p.url, password)

	dir := filepath.Join(os.TempDir(), "cspm-layout")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	firstRow := func(table string) chromedp.Action[chromedp.Void] {
		// The second cell: a wide table scrolls within its box, and the row's
		// centre can be past the right edge of a phone.
		return chromedp.Click(chromedp.CSS(`[data-testid="` + table + `"] tbody tr td:nth-child(2)`))
	}
	// The drawer with its raw OCSF record shown: the block that used to
	// stretch it to thousands of pixels.
	openFinding := []chromedp.Action[chromedp.Void]{
		firstRow("findings-table"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="finding-detail"]`)),
		chromedp.Sleep(500 * time.Millisecond), // the drawer slides in
		chromedp.Click(chromedp.CSS(`[data-testid="ocsf-toggle"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="finding-ocsf"]`)),
	}
	pages := []layoutPage{
		{name: "posture", path: "/", ready: `[data-testid="open-total"]`},
		{name: "findings", path: "/findings", ready: `[data-testid="findings-table"] tbody tr`},
		{name: "finding-detail", path: "/findings?tool=prowler", ready: `[data-testid="findings-table"] tbody tr`,
			then: openFinding},
		{name: "finding-detail-zap", path: "/findings?tool=zap", ready: `[data-testid="findings-table"] tbody tr`,
			then: openFinding},
		{name: "scans", path: "/scans", ready: `[data-testid="scans-table"] tbody tr`},
		{name: "scan-runs", path: "/scans?tab=runs", ready: `[data-testid="runs-table"] tbody tr`},
		{name: "scan-run", path: "/scans/" + run, ready: `[data-testid="run-findings"]`},
		{name: "import", path: "/import", ready: `[data-testid="import-submit"]`},
		{name: "cloud-accounts", path: "/cloud-accounts", ready: `[data-testid="account-add"]`},
		{name: "vulnerabilities", path: "/vulnerabilities", ready: `[data-testid="vulns-table"] tbody tr`},
		{name: "vulnerabilities-by-asset", path: "/vulnerabilities?group_by=asset", ready: `[data-testid="assets-table"] tbody tr`},
		{name: "vulnerability-detail", path: "/vulnerabilities", ready: `[data-testid="vulns-table"] tbody tr`,
			then: []chromedp.Action[chromedp.Void]{firstRow("vulns-table"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="vuln-detail"]`))}},
		{name: "compliance", path: "/compliance", ready: `main h2`},
		{name: "bia", path: "/bia", ready: `main h2`},
		{name: "knowledge-base", path: "/knowledge-base", ready: `main h2`},
		{name: "admin-users", path: "/admin", ready: `[data-testid="users-table"]`},
		{name: "admin-team", path: "/admin", ready: `[data-testid="users-table"]`,
			then: []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="tab-team"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="team-settings"]`))}},
		{name: "admin-audit", path: "/admin", ready: `[data-testid="users-table"]`,
			then: []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid="tab-audit"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-table"] tbody tr`))}},
		{name: "account", path: "/account", ready: `main h2`},
		{name: "status", path: "/status", ready: `[data-testid="status-version"]`},
		{name: "not-found", path: "/no-such-page", ready: `main h2`},
	}

	// Accept the risk of one finding with a reason and an end date: the
	// drawer then says it is muted, and why.
	mctx := step(t, ctx)
	if err := chromedp.Do(mctx,
		chromedp.EmulateViewport(1440, 900),
		chromedp.Navigate(p.url+"/findings?tool=zap"),
		firstRow("findings-table"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="mute-reason"]`)),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="mute-reason"]`), "behind the VPN until the rewrite ships"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="mute-until"]`), "12312099"),
	); err != nil {
		shot(t, ctx, "cspm-layout-mute-failed.png")
		t.Fatal(err)
	}
	if v, _ := chromedp.Run(mctx, chromedp.Value(chromedp.CSS(`[data-testid="mute-until"]`))); v != "2099-12-31" {
		t.Errorf("the expiry field holds %q after typing 12/31/2099", v)
	}
	if err := chromedp.Do(mctx,
		chromedp.Click(chromedp.CSS(`[data-testid="accept-risk"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="mute-summary"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="unmute"]`)),
	); err != nil {
		shot(t, ctx, "cspm-layout-mute-failed.png")
		t.Fatal(err)
	}
	// The accepted risk says so, with its reason and end, not "Muted".
	if got := text(t, mctx, `[data-testid="mute-summary"]`); !strings.Contains(strings.ToLower(got), "risk accepted") ||
		!strings.Contains(got, "behind the VPN") || !strings.Contains(got, "2099") {
		shot(t, ctx, "cspm-layout-mute-summary.png")
		t.Fatalf("the accepted risk shows as %q", got)
	}

	// One failed KEV sync, so its error is on the page being measured.
	if err := chromedp.Do(step(t, ctx),
		chromedp.Navigate(p.url+"/vulnerabilities"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kev-sync"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="kev-sync"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kev-error"]`)),
	); err != nil {
		shot(t, ctx, "cspm-layout-kev-failed.png")
		t.Fatal(err)
	}

	// The KEV failure is said once, in plain words; the raw Go error only
	// behind "Technical details".
	rawErr := "connection refused"
	countRaw := `document.body.innerText.split(` + "`" + rawErr + "`" + `).length - 1`
	if n, err := chromedp.Run(step(t, ctx), chromedp.Evaluate[int](countRaw)); err != nil || n != 0 {
		t.Errorf("the vulnerabilities page shows the raw KEV error %d times before its details are opened (%v)", n, err)
	}
	if n, err := chromedp.Run(step(t, ctx), chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="kev-error"]').length`)); err != nil || n != 1 {
		t.Errorf("%d KEV error messages, want 1 (%v)", n, err)
	}
	if err := chromedp.Do(step(t, ctx),
		chromedp.Click(chromedp.CSS(`[data-testid="kev-error-toggle"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kev-error-detail"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(step(t, ctx), chromedp.Evaluate[int](countRaw)); err != nil || n != 1 {
		t.Errorf("with its details open, the raw KEV error is shown %d times, want once (%v)", n, err)
	}

	// Every dashboard tile is a link to the findings it counts.
	dctx := step(t, ctx)
	if err := chromedp.Do(dctx,
		chromedp.Navigate(p.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="open-medium"]`)),
	); err != nil {
		t.Fatal(err)
	}
	medium := text(t, dctx, `[data-testid="open-medium"]`)
	if err := chromedp.Do(dctx,
		chromedp.Click(chromedp.CSS(`[data-testid="open-medium-tile"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(dctx, chromedp.Location()); !strings.Contains(loc, "/findings?severity=medium&status=open,reopened") {
		t.Errorf("the medium tile leads to %s", loc)
	}
	if got := text(t, dctx, `[data-testid="findings-total"]`); got != medium+" findings" {
		t.Errorf("the medium tile counts %s, its findings list shows %q", medium, got)
	}

	var problems []string
	measure := func(ctx context.Context, name string, width int64) {
		t.Helper()
		// Let transitions (the drawer slides in) and charts settle.
		if err := chromedp.Do(ctx, chromedp.Sleep(600*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS))
		if err != nil {
			t.Fatalf("%s at %d px: %v", name, width, err)
		}
		var m layoutMeasure
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		t.Logf("%-26s %4d px: page %d px wide", name, width, m.Page)
		for _, pr := range m.Problems {
			problems = append(problems, fmt.Sprintf("%s at %d px: %s", name, width, pr))
		}
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%s.png", width, name)), png, 0o644)
		}
	}

	for _, width := range layoutWidths {
		for _, pg := range pages {
			sctx := step(t, ctx)
			actions := []chromedp.Action[chromedp.Void]{
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(p.url + pg.path),
				chromedp.WaitVisible(chromedp.CSS(pg.ready)),
			}
			if err := chromedp.Do(sctx, append(actions, pg.then...)...); err != nil {
				shot(t, ctx, fmt.Sprintf("cspm-layout-%d-%s-failed.png", width, pg.name))
				t.Fatalf("%s at %d px: %v", pg.name, width, err)
			}
			measure(sctx, pg.name, width)
		}
	}

	// At a phone's width the navigation hides behind the burger, which opens it.
	navShown := `(() => { const r = document.querySelector('nav a[href="/findings"]').getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; })()`
	sctx := step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.EmulateViewport(390, 900),
		chromedp.Navigate(p.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="open-total"]`)),
		chromedp.Sleep(300*time.Millisecond),
	); err != nil {
		t.Fatal(err)
	}
	if shown, err := chromedp.Run(sctx, chromedp.Evaluate[bool](navShown)); err != nil || shown {
		problems = append(problems, fmt.Sprintf("navigation at 390 px is on screen before the burger opens it (%v)", err))
	}
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[aria-label="Toggle navigation"]`)),
		chromedp.Sleep(600*time.Millisecond),
	); err != nil {
		problems = append(problems, fmt.Sprintf("burger at 390 px: %v", err))
	} else if shown, err := chromedp.Run(sctx, chromedp.Evaluate[bool](navShown)); err != nil || !shown {
		problems = append(problems, fmt.Sprintf("the burger at 390 px does not open the navigation (%v)", err))
	}
	measure(sctx, "navigation-open", 390)

	// Signed out: the login page.
	if err := chromedp.Do(step(t, ctx),
		chromedp.EmulateViewport(1440, 900),
		chromedp.Navigate(p.url+"/"),
		chromedp.Click(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Sign out"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
	); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	for _, width := range layoutWidths {
		sctx := step(t, ctx)
		if err := chromedp.Do(sctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(p.url+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		); err != nil {
			t.Fatal(err)
		}
		measure(sctx, "login", width)
	}

	t.Logf("screenshots: %s", dir)
	if len(problems) > 0 {
		t.Errorf("horizontal overflow on %d page(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
}

// startContainerScan starts a container scan over the API and returns its ID.
func startContainerScan(t *testing.T, base, password string) string {
	t.Helper()
	c, csrf := apiSession(t, base, "admin@cspm.local", password)
	body := `{"type":"container","tools":["trivy"],"targets":["registry.example/shop:2.0"]}`
	req, _ := http.NewRequest("POST", base+"/api/v1/scans", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if res.StatusCode/100 != 2 || json.NewDecoder(res.Body).Decode(&out) != nil || out.ID == "" {
		t.Fatalf("start scan = %d", res.StatusCode)
	}
	return out.ID
}
