package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The triage flow of issue 20: a Prowler report imported, the findings
// page opens on the open failures (its three MANUAL results left out),
// sorts by title, two findings selected have their risk accepted in bulk
// with a reason and an expiry, and the detail shows the acceptance.
func TestBrowserTriageBulkRiskAcceptance(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	p, password := servePlatform(t)
	signIn(t, step(t, ctx), p.url, "admin@cspm.local", password)
	uploadReport(t, step(t, ctx), "prowler/example_output_aws.ocsf.json")

	// The default view: open failures only.
	sctx := step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+"/findings"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="chip-result"]`)),
	); err != nil {
		shot(t, ctx, "cspm-triage-default-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="findings-total"]`); got != "2 findings" {
		t.Fatalf("the default view shows %q, want the 2 open failures (not the 3 MANUAL results)", got)
	}

	// Sorted by title, ascending, through the column header.
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="sort-title"]`)),
		chromedp.WaitVisible(chromedp.CSS(`th[aria-sort="ascending"] [data-testid="sort-title"]`)),
	); err != nil {
		shot(t, ctx, "cspm-triage-sort-failed.png")
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(sctx, chromedp.Location())
	if !strings.Contains(loc, "sort=title") || !strings.Contains(loc, "order=asc") {
		t.Errorf("the URL after sorting is %s", loc)
	}
	// The rows follow once the sorted page arrives.
	for deadline := time.Now().Add(10 * time.Second); ; {
		titles, err := chromedp.Run(sctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="finding-title"]')].map(e => e.innerText)`))
		if err == nil && len(titles) == 2 && titles[0] <= titles[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("titles after sorting by title: %q %v", titles, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Two selected, risk accepted in bulk with a reason and an expiry.
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="findings-table"] tbody tr:nth-child(1) [data-testid="select-row"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="findings-table"] tbody tr:nth-child(2) [data-testid="select-row"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-bar"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="bulk-reason"]`), "legacy account, closed in Q1"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="bulk-until"]`), "12312099"),
	); err != nil {
		shot(t, ctx, "cspm-triage-select-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="bulk-count"]`); got != "2 selected" {
		t.Fatalf("the bulk bar says %q", got)
	}
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="bulk-apply"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-result"]`)),
	); err != nil {
		shot(t, ctx, "cspm-triage-bulk-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="bulk-result"]`); !strings.Contains(got, "2 matched, 2 changed") {
		t.Fatalf("the bulk action answered %q", got)
	}

	// Both leave the open failures; the triage filter finds them, and the
	// detail shows the acceptance: reason, who, expiry.
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-empty"]`)),
		chromedp.Navigate(p.url+"/findings?triage=risk_accepted"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
		chromedp.Click(chromedp.CSS(`[data-testid="findings-table"] tbody tr td:nth-child(3)`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="risk-acceptances"]`)),
	); err != nil {
		shot(t, ctx, "cspm-triage-detail-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="findings-total"]`); got != "2 findings" {
		t.Errorf("triage=risk_accepted shows %q", got)
	}
	got := text(t, sctx, `[data-testid="risk-approved"]`)
	if !strings.Contains(got, "legacy account, closed in Q1") || !strings.Contains(got, "2099") || !strings.Contains(got, "admin@cspm.local") {
		shot(t, ctx, "cspm-triage-detail.png")
		t.Fatalf("the detail's risk acceptance shows %q", got)
	}
	if got := text(t, sctx, `[data-testid="mute-summary"]`); !strings.Contains(strings.ToLower(got), "risk accepted") {
		t.Errorf("the mute summary shows %q", got)
	}
	if got := text(t, sctx, `[data-testid="finding-history"]`); !strings.Contains(got, "muted") || !strings.Contains(got, "admin@cspm.local") {
		t.Errorf("the history shows %q", got)
	}
}
