package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A SECURITY_MANAGER writes a business impact analysis in the editor (tier,
// objectives, an impact rating, a cloud account it depends on) and submits
// it; they may not approve their own; a COMPLIANCE_OFFICER approves it, and
// it shows in the analytics with its revenue at risk. Screenshots land in
// $TMPDIR/cspm-bia/.
func TestBrowserBIA(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	p, password := servePlatform(t)
	dir := filepath.Join(os.TempDir(), "cspm-bia")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(ctx context.Context, name string) {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
	fail := func(ctx context.Context, what string, err error) {
		t.Helper()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		save(sctx, "failed-"+what)
		t.Fatalf("%s: %v (screenshot in %s)", what, err, dir)
	}
	c, csrf := apiSession(t, p.url, "admin@cspm.local", password)
	for _, u := range []struct{ email, role string }{{"manager@example.com", "SECURITY_MANAGER"}, {"officer@example.com", "COMPLIANCE_OFFICER"}} {
		body := `{"email":"` + u.email + `","role":"` + u.role + `","password":"bia-password-4242"}`
		req, _ := http.NewRequest("POST", p.url+"/api/v1/users", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		res, err := c.Do(req)
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("create %s: %v %v", u.role, res, err)
		}
		res.Body.Close()
	}
	// pick sets a native select the way a person would, so React sees the change.
	pick := func(sel, value string) chromedp.Action[chromedp.Void] {
		eval := chromedp.Evaluate[bool](`(() => { const el = document.querySelector('` + sel + `');
			Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(el, '` + value + `');
			return el.dispatchEvent(new Event('change', { bubbles: true })); })()`)
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := eval(ctx, tg)
			return chromedp.Void{}, err
		}
	}
	signOut := func(ctx context.Context) error {
		return chromedp.Do(ctx,
			chromedp.Navigate(p.url+"/"),
			chromedp.Click(chromedp.CSS(`[data-testid="user-menu"]`)),
			chromedp.Click(chromedp.Search(`//button[normalize-space()="Sign out"]`)),
			chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)))
	}

	// The manager writes and submits it.
	mctx := step(t, ctx)
	signIn(t, mctx, p.url, "manager@example.com", "bia-password-4242")
	if err := chromedp.Do(mctx,
		chromedp.EmulateViewport(1440, 900),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/bia"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="bia-new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[data-testid="bia-name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[data-testid="bia-name"]`), "Payments platform"),
		pick(`select[data-testid="bia-tier"]`, "1"),
		chromedp.SendKeys(chromedp.CSS(`input[data-testid="bia-rto"]`), "4"),
		chromedp.SendKeys(chromedp.CSS(`input[data-testid="bia-rpo"]`), "1"),
		chromedp.SendKeys(chromedp.CSS(`input[data-testid="bia-mtpd"]`), "24"),
		chromedp.SendKeys(chromedp.CSS(`input[data-testid="bia-loss"]`), "2500"),
		pick(`select[data-testid="impact-financial-4h"]`, "4"),
		chromedp.SendKeys(chromedp.CSS(`input[data-testid="bia-dep-value"]`), "123456789012"),
		chromedp.Click(chromedp.CSS(`[data-testid="bia-dep-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bia-dependency"]`)),
	); err != nil {
		fail(mctx, "editor", err)
	}
	save(mctx, "editor")
	if err := chromedp.Do(mctx,
		chromedp.Click(chromedp.CSS(`[data-testid="bia-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bia-action-submit"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="bia-comment"]`), "ready for review"),
		chromedp.Click(chromedp.CSS(`[data-testid="bia-action-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bia-action-approve"]`)),
	); err != nil {
		fail(mctx, "submit", err)
	}
	page, err := chromedp.Run(mctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, mctx, `[data-testid="bia-status"]`); !strings.EqualFold(got, "In review") {
		t.Errorf("after submitting the status reads %q", got)
	}
	// Segregation of duties: the author's approval is refused, and says why.
	if err := chromedp.Do(mctx,
		chromedp.Click(chromedp.CSS(`[data-testid="bia-action-approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bia-lifecycle"] [role="alert"]`)),
	); err != nil {
		fail(mctx, "self-approval", err)
	}
	if got := text(t, mctx, `[data-testid="bia-lifecycle"] [role="alert"]`); !strings.Contains(got, "segregation of duties") {
		t.Errorf("the author's approval reads %q", got)
	}
	save(mctx, "in-review")
	if err := signOut(mctx); err != nil {
		fail(mctx, "sign-out", err)
	}

	// The officer approves it.
	octx := step(t, ctx)
	signIn(t, octx, p.url, "officer@example.com", "bia-password-4242")
	if err := chromedp.Do(octx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bia-action-approve"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="bia-comment"]`), "objectives agreed"),
		chromedp.Click(chromedp.CSS(`[data-testid="bia-action-approve"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="bia-status"][normalize-space()="Approved"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="bia-transition"][contains(., "objectives agreed")]`)),
	); err != nil {
		fail(octx, "approve", err)
	}
	save(octx, "approved")
	if n, _ := chromedp.Run(octx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bia-graph-dependency"]').length`)); n != 1 {
		t.Errorf("the dependency graph shows %d dependencies, want the one account", n)
	}

	// And it shows in the analytics.
	actx := step(t, ctx)
	if err := chromedp.Do(actx,
		chromedp.Click(chromedp.CSS(`[data-testid="bia-tab-analytics"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bia-exposure-row"]`)),
	); err != nil {
		fail(actx, "analytics", err)
	}
	if got := text(t, actx, `[data-testid="bia-stat-processes"]`); got != "1" {
		t.Errorf("analytics counts %q processes", got)
	}
	if got := text(t, actx, `[data-testid="bia-stat-revenue"]`); strings.NewReplacer(",", "", ".", "", " ", "", "\u202f", "").Replace(got) != "60000" {
		t.Errorf("revenue at risk per day reads %q, want 60,000 (2,500 x 24)", got)
	}
	if got := text(t, actx, `[data-testid="bia-exposure-row"]`); !strings.Contains(got, "Payments platform") || !strings.Contains(got, "approved") {
		t.Errorf("exposure row reads %q", got)
	}
	save(actx, "analytics")
}
