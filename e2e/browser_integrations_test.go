package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// An ADMIN adds a webhook rule on the Integrations page, is shown its
// signing secret once, sends a test message to a local receiver and reads
// it in the rule's delivery log.
func TestBrowserIntegrationsWebhookRule(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	var received atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-CSPM-Signature") == "" || !strings.Contains(string(body), `"type":"test"`) {
			http.Error(w, "unsigned or not a test", http.StatusBadRequest)
			return
		}
		received.Add(1)
	}))
	t.Cleanup(hook.Close)
	// The receiver is on loopback over http, which only a lab allows.
	p, password := servePlatform(t, "CSPM_INTEGRATIONS_ALLOW_INSECURE=true")

	sctx := step(t, ctx)
	signIn(t, sctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/integrations"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rule-add"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rule-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rule-name"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="rule-name"]`), "SOC webhook"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="rule-url"]`), hook.URL+"/hook"),
		chromedp.Click(chromedp.CSS(`[data-testid="rule-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signing-secret"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rules-table"] tbody tr`)),
		// The form's modal gone: a click during its closing lands on its overlay.
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="rule-name"]`)),
	); err != nil {
		shot(t, ctx, "cspm-integrations-failed.png")
		t.Fatal(err)
	}
	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rule-test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="test-result"]`)),
	); err != nil {
		shot(t, ctx, "cspm-integrations-test-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="test-result"]`); !strings.Contains(got, "delivered") {
		t.Fatalf("test message: %q", got)
	}
	if received.Load() != 1 {
		t.Fatalf("the receiver got %d messages", received.Load())
	}
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="rule-deliveries"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="deliveries-table"] tbody tr`)),
	); err != nil {
		shot(t, ctx, "cspm-integrations-log-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="deliveries-table"] tbody tr`); !strings.Contains(strings.ToLower(got), "delivered") || !strings.Contains(got, "HTTP 200") {
		t.Errorf("delivery log row: %q", got)
	}
}
