package e2e

import (
	"context"
	"os"
	"os/exec"
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
	return ctx
}

func TestBrowserStatusPageShowsTheAPIAnswer(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	p := start(t, []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_ADDR=127.0.0.1:0"}, "serve")
	api := getStatus(t, p.url)

	// Open the app at its root, then reach the status page through the
	// navigation, as a person would.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/")); err != nil {
		t.Fatal(err)
	}
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main navigation"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/status"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="status-version"]`)),
	); err != nil {
		t.Fatal(err)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	if got := text(`[data-testid="status-version"]`); got != api.Version.Version {
		t.Errorf("page shows version %q, API says %q", got, api.Version.Version)
	}
	if got := text(`[data-testid="status-engine"]`); got != "SQLite (embedded)" {
		t.Errorf("page shows engine %q", got)
	}
	// The badge is upper-cased by CSS, and innerText reports what is shown.
	if got := text(`[data-testid="status-queue"]`); !strings.EqualFold(got, "healthy") {
		t.Errorf("page shows queue %q", got)
	}

	// A deep link survives a reload: the server answers client routes with the app.
	if err := chromedp.Do(step,
		chromedp.Navigate(p.url+"/status"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="status-version"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if shot, err := chromedp.Run(step, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(os.TempDir()+"/cspm-status.png", shot, 0o644) // PNG at quality 100, for a person to look at
	}
}

func TestBrowserLoginPageRenders(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	p := start(t, []string{"CSPM_DATA_DIR=" + t.TempDir(), "CSPM_ADDR=127.0.0.1:0"}, "serve")
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.Navigate(p.url+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[type="email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[type="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
}
