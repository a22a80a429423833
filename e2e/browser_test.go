package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser returns a chromedp context on headless Debian Chromium, or skips
// the test where Chromium or the built UI is missing (failing under CI).
func browser(t *testing.T) context.Context {
	t.Helper()
	need := func(ok bool, why string) {
		if ok {
			return
		}
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	path, err := exec.LookPath("chromium")
	need(err == nil, "chromium not installed (apt-get install chromium)")
	_, err = os.Stat("../web/dist/index.html")
	need(err == nil, "web UI not built (make ui)")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // Debian's Chromium refuses to run as root otherwise
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, outside any step's deadline.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// servePlatform starts cspm serve on a fresh SQLite directory, with the
// default (Secure) session cookie, and returns it with the bootstrap
// admin's password.
func servePlatform(t *testing.T, env ...string) (*proc, string) {
	t.Helper()
	p := start(t, append([]string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_ADDR=127.0.0.1:0"}, env...), "serve")
	return p, bootstrapPassword(t, p)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func step(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	s, cancel := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancel)
	return s
}

// uploadReport imports a sample report (a path under the ingest samples)
// through the import page, signed in, and waits for its result.
func uploadReport(t *testing.T, ctx context.Context, sample string) {
	t.Helper()
	report, err := filepath.Abs("../internal/ingest/testdata/samples/" + sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/import"]`)),
		// On the import page, not the page being left: the vulnerabilities
		// page has a file input of its own (the KEV catalog upload).
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-submit"]`)),
		chromedp.WaitReady(chromedp.CSS(`input[type="file"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{report}),
		chromedp.Click(chromedp.CSS(`[data-testid="import-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-created"]`)),
	); err != nil {
		t.Fatal(err)
	}
}

// signIn fills the login form.
func signIn(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserStatusPageShowsTheAPIAnswer(t *testing.T) {
	t.Parallel()
	ctx := step(t, browser(t))
	p, _ := servePlatform(t)
	api := getStatus(t, p.url)

	// Signed out, the app lands on the login page, which links to the status page.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/status"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="status-version"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="status-version"]`); got != api.Version.Version {
		t.Errorf("page shows version %q, API says %q", got, api.Version.Version)
	}
	if got := text(t, ctx, `[data-testid="status-engine"]`); got != "SQLite (embedded)" {
		t.Errorf("page shows engine %q", got)
	}
	// The badge is upper-cased by CSS, and innerText reports what is shown.
	if got := text(t, ctx, `[data-testid="status-queue"]`); !strings.EqualFold(got, "healthy") {
		t.Errorf("page shows queue %q", got)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(os.TempDir()+"/cspm-status.png", shot, 0o644) // PNG at quality 100, for a person to look at
	}
}

// The bootstrap admin signs in through the form and reaches administration.
func TestBrowserLoginAndAdministration(t *testing.T) {
	t.Parallel()
	ctx := step(t, browser(t))
	p, password := servePlatform(t)
	signIn(t, ctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="users-table"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="user-menu"]`); !strings.Contains(got, "admin@cspm.local") || !strings.Contains(got, "ADMIN") {
		t.Errorf("user menu shows %q", got)
	}
	if got := text(t, ctx, `[data-testid="users-table"]`); !strings.Contains(got, "admin@cspm.local") {
		t.Errorf("users table shows %q", got)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(os.TempDir()+"/cspm-admin.png", shot, 0o644)
	}
}

func TestBrowserLockoutMessage(t *testing.T) {
	t.Parallel()
	ctx := step(t, browser(t))
	p, password := servePlatform(t)
	for i := 0; i < 5; i++ {
		if s := login(t, p.url, "admin@cspm.local", "not-the-password-"+string(rune('a'+i))); s != 401 {
			t.Fatalf("failure %d = %d", i, s)
		}
	}
	signIn(t, ctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="login-error"]`); !strings.Contains(got, "Too many failed sign-ins") {
		t.Fatalf("login error shows %q", got)
	}
}

// apiSession signs in over HTTP and returns a client and its CSRF token.
func apiSession(t *testing.T, base, email, password string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := c.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil {
		t.Fatalf("login %s = %d", email, res.StatusCode)
	}
	return c, out.CSRFToken
}

// A VIEWER sees no administration: not in the navigation, and not by URL.
func TestBrowserViewerCannotSeeAdministration(t *testing.T) {
	t.Parallel()
	ctx := step(t, browser(t))
	p, password := servePlatform(t)
	// Create the viewer through the API as the admin.
	c, csrf := apiSession(t, p.url, "admin@cspm.local", password)
	body := `{"email":"viewer@example.com","role":"VIEWER","password":"viewer-password-77"}`
	req, _ := http.NewRequest("POST", p.url+"/api/v1/users", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create viewer = %d", res.StatusCode)
	}

	signIn(t, ctx, p.url, "viewer@example.com", "viewer-password-77")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`))); err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="/admin"]').length`))
	if err != nil || links != 0 {
		t.Fatalf("viewer sees %d administration links (%v)", links, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/admin"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="no-access"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="users-table"]').length`)); n != 0 {
		t.Fatal("viewer was shown the users table")
	}
}

// Import a report through the import page, then filter the findings it made
// and open one.
func TestBrowserImportFilterAndDetail(t *testing.T) {
	t.Parallel()
	ctx := step(t, browser(t))
	p, password := servePlatform(t)
	signIn(t, ctx, p.url, "admin@cspm.local", password)
	uploadReport(t, ctx, "zap/dvwa_baseline_dojo.xml")
	if got := text(t, ctx, `[data-testid="import-items"]`); got != "19" {
		t.Fatalf("import page shows %q items read, want 19", got)
	}
	if got := text(t, ctx, `[data-testid="import-created"]`); got != "18" {
		t.Fatalf("import page shows %q new findings, want 18", got)
	}

	// Filtered by severity through the URL the filters write.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/findings?severity=medium"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="findings-total"]`); got != "4 findings" {
		t.Fatalf("filtered total %q, want 4 findings", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="finding-detail"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="finding-remediation"]`); got == "" {
		t.Fatal("detail shows no remediation")
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(os.TempDir()+"/cspm-findings.png", shot, 0o644)
	}
}
