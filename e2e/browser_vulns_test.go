package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An ADMIN imports a real Trivy report, syncs CISA KEV from a local server
// speaking like CISA's, and the vulnerabilities page flags the one CVE of
// the report that KEV lists, filters to it, and shows its KEV details.
func TestBrowserVulnerabilitiesWithKEV(t *testing.T) {
	t.Parallel()
	catalog, err := os.ReadFile("../internal/vuln/testdata/known_exploited_vulnerabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	kev := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(catalog)
	}))
	defer kev.Close()
	ctx := step(t, browser(t))
	p, password := servePlatform(t, "CSPM_KEV_URL="+kev.URL)
	signIn(t, ctx, p.url, "admin@cspm.local", password)
	uploadReport(t, ctx, "trivy/scheme_2_many_vulns.json")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/vulnerabilities"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="vulns-table"] tbody tr`)),
		chromedp.Click(chromedp.CSS(`[data-testid="kev-sync"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kev-sync-result"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="vuln-row-CVE-2020-15999"] [data-testid="kev-badge"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="kev-status"]`); !strings.Contains(got, "2025.08.25, 1404 entries") {
		t.Fatalf("KEV status shows %q", got)
	}
	if got := text(t, ctx, `[data-testid="vulns-total"]`); !strings.HasPrefix(got, "5 vulnerabilities") {
		t.Fatalf("total %q, want 5 vulnerabilities", got)
	}
	// The KEV filter, written to the URL, leaves the one listed CVE.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/vulnerabilities?in_kev=true"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="vuln-row-CVE-2020-15999"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="vulns-total"]`); !strings.HasPrefix(got, "1 vulnerabilities") {
		t.Fatalf("in_kev total %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="vuln-row-CVE-2020-15999"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kev-detail"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="kev-detail"]`); !strings.Contains(got, "2021-11-17") || !strings.Contains(got, "Google") {
		t.Fatalf("KEV detail %q", got)
	}
	// Its KEV due date passed long ago: the occurrence is overdue.
	if got := text(t, ctx, `[data-testid="vuln-detail"] [data-testid="sla-overdue"]`); !strings.EqualFold(got, "overdue") {
		t.Fatalf("SLA state %q", got)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(os.TempDir()+"/cspm-vulns.png", shot, 0o644)
	}
}

// An install that cannot reach CISA loads the catalog from a file: the
// Upload catalog button on the vulnerabilities page, and the KEV badges
// follow.
func TestBrowserKEVCatalogUpload(t *testing.T) {
	t.Parallel()
	catalog, err := filepath.Abs("../internal/vuln/testdata/known_exploited_vulnerabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	base := browser(t)
	p, password := servePlatform(t, "CSPM_KEV_URL=")
	ctx := step(t, base)
	signIn(t, ctx, p.url, "admin@cspm.local", password)
	uploadReport(t, ctx, "trivy/scheme_2_many_vulns.json")
	ctx = step(t, base)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/vulnerabilities"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="vulns-table"] tbody tr`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kev-upload"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="kev-status"] input[type="file"]`), []string{catalog}),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kev-sync-result"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="vuln-row-CVE-2020-15999"] [data-testid="kev-badge"]`)),
	); err != nil {
		shot(t, ctx, "cspm-kev-upload.png")
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="kev-status"]`); !strings.Contains(got, "2025.08.25, 1404 entries") {
		t.Fatalf("KEV status shows %q", got)
	}
}
