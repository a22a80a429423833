package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// oneTimePassword reads the first administrator's one-time password from
// what cspm serve printed.
func oneTimePassword(t *testing.T, p *proc) string {
	t.Helper()
	for _, line := range strings.Split(p.stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "password:" {
			return f[1]
		}
	}
	t.Fatalf("no bootstrap password printed:\n%s", p.stdout.String())
	return ""
}

// bootstrapPassword signs the first administrator in with the one-time
// password and replaces it, as the platform requires before anything else,
// and returns the new password.
func bootstrapPassword(t *testing.T, p *proc) string {
	t.Helper()
	once := oneTimePassword(t, p)
	c, csrf := apiSession(t, p.url, "admin@cspm.local", once)
	next := "own-" + once
	body, _ := json.Marshal(map[string]string{"current_password": once, "new_password": next})
	req, _ := http.NewRequest("POST", p.url+"/api/v1/auth/password", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("change the one-time password = %d", res.StatusCode)
	}
	return next
}

// The README's path, as a newcomer takes it: `cspm serve` with its
// defaults (the relative ./data, no CSPM_* variable at all) from a fresh
// working directory, then a network scan with real Nmap from the New scan
// form, to completion. A tool once ran in data/scan-work/<id> and was told
// to write to that same relative path, so every scan failed this way and
// only this way. The flags keep the test on loopback: a free port, and no
// KEV download from the internet.
func TestBrowserREADMEPathRunsAnNmapScan(t *testing.T) {
	t.Parallel()
	needTool(t, "nmap")
	ctx := browser(t)
	dir := t.TempDir()
	p := startWith(t, withoutCSPM(), dir, "serve", "--addr", "127.0.0.1:0", "--kev-url=")
	once := oneTimePassword(t, p)
	if fi, err := os.Stat(filepath.Join(dir, "data", "cspm_platform.db")); err != nil || fi.IsDir() {
		t.Fatalf("the default data directory is not ./data of the working directory: %v", err)
	}

	port := fmt.Sprint(webTarget(t))

	// The one-time password leads to the account page, and nothing else
	// opens until it is replaced.
	sctx := step(t, ctx)
	signIn(t, sctx, p.url, "admin@cspm.local", once)
	if err := chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="password-change-required"]`)),
		chromedp.Navigate(p.url+"/scans"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="password-change-required"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="password-current"]`), once),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="password-new"]`), "own-"+once),
		chromedp.Click(chromedp.CSS(`[data-testid="password-submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="password-change-required"]`)),
	); err != nil {
		shot(t, sctx, "cspm-readme-password.png")
		t.Fatal(err)
	}
	if err := chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Navigate(p.url+"/scans"),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-targets"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="scan-targets"]`), "127.0.0.1"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="scan-ports"]`), port),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="run-findings"]`)),
	); err != nil {
		shot(t, sctx, "cspm-readme-scan.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="run-status"]`); !strings.EqualFold(got, "completed") {
		shot(t, sctx, "cspm-readme-scan.png")
		t.Fatalf("the README path's Nmap scan ended %q", got)
	}

	// The periodic jobs that ran at start, and the scan's own jobs, all
	// completed: none waits in retry.
	st := getStatus(t, p.url)
	for _, state := range []string{"retryable", "discarded"} {
		if st.Queue.Jobs[state] != 0 {
			t.Errorf("%d jobs %s after the README path's start and scan", st.Queue.Jobs[state], state)
		}
	}
}
