package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Posture and mute rules as issue 20 asks: after a Prowler report (two
// FAIL, three MANUAL results) the dashboard counts two failed checks and
// three manual ones apart, its provider row links to the open failures,
// and a mute rule started from a link previews what it will mute, mutes
// exactly that when saved, and the dashboard's failures drop to zero.
func TestBrowserPostureAndMuteRules(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	p, password := servePlatform(t)
	signIn(t, step(t, ctx), p.url, "admin@cspm.local", password)
	uploadReport(t, step(t, ctx), "prowler/example_output_aws.ocsf.json")

	sctx := step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="passrate-provider-row"]`)),
	); err != nil {
		shot(t, ctx, "cspm-posture-failed.png")
		t.Fatal(err)
	}
	if failed, manual := text(t, sctx, `[data-testid="failed-total"]`), text(t, sctx, `[data-testid="manual-total"]`); failed != "2" || manual != "3" {
		t.Errorf("failed checks %q, manual %q: want 2 and 3 (MANUAL is not a failure)", failed, manual)
	}
	if got := text(t, sctx, `[data-testid="passrate-provider-failed"]`); got != "2" {
		t.Errorf("the provider row counts %q failures, want 2", got)
	}
	// Resources are counted in the background; the page asks again.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got := text(t, sctx, `[data-testid="resources-scanned"]`)
		if got == "2" { // <resource_uid> and the account's root, under five results
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resources scanned shows %q, want 2", got)
		}
	}
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="passrate-provider-failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(sctx, chromedp.Location())
	if !strings.Contains(loc, "result=fail") || !strings.Contains(loc, "status=open,reopened") {
		t.Errorf("the provider row's failures lead to %s", loc)
	}

	// A rule for the account checks, as the finding drawer's "mute
	// everything like this" link opens it.
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+"/mute-rules?tool=prowler&check_pattern=account_*"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rule-preview-count"]`)),
	); err != nil {
		shot(t, ctx, "cspm-mute-rule-preview-failed.png")
		t.Fatal(err)
	}
	// One FAIL and three MANUAL results are account_* checks.
	if got := text(t, sctx, `[data-testid="rule-preview-count"]`); !strings.HasPrefix(got, "Would mute 4 stored findings now (4 open)") {
		t.Errorf("preview: %q", got)
	}
	if err := chromedp.Do(sctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="rule-reason"]`), "contacts are managed by the organization"),
		chromedp.Click(chromedp.CSS(`[data-testid="rule-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rule-notice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rule-row"]`)),
	); err != nil {
		shot(t, ctx, "cspm-mute-rule-save-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="rule-notice"]`); !strings.Contains(got, "4 findings muted now") {
		t.Errorf("after saving: %q", got)
	}

	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="failed-total"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if failed, manual := text(t, sctx, `[data-testid="failed-total"]`), text(t, sctx, `[data-testid="manual-total"]`); failed != "1" || manual != "0" {
		t.Errorf("after the rule: failed %q, manual %q; want 1 and 0", failed, manual)
	}

	// The SLA, edited by the admin on the vulnerabilities page.
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+"/vulnerabilities"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sla-edit"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="sla-edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sla-critical_days"]`)),
	); err != nil {
		shot(t, ctx, "cspm-sla-failed.png")
		t.Fatal(err)
	}
	// Set as typing would, without depending on where the caret is.
	if _, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`(() => { const el = document.querySelector('[data-testid="sla-critical_days"]');
		Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, '5');
		return el.dispatchEvent(new Event('input', { bubbles: true })); })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(sctx,
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="sla-problem"]`)),
		steady(`[data-testid="sla-save"]`), // the modal may still be opening on a loaded machine
		chromedp.Click(chromedp.CSS(`[data-testid="sla-save"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="sla-save"]`)),
	); err != nil {
		shot(t, ctx, "cspm-sla-save-failed.png")
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		got := text(t, sctx, `[data-testid="vulns-total"]`)
		if strings.Contains(got, "critical 5 d") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after saving the SLA the page says %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
