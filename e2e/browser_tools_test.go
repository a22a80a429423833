package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// The status page lists the scanners; the New scan form disables one that
// is missing and says how to install it; a run whose scanner fails for good
// shows a red bar, the class of its failure, and no findings link.
func TestBrowserToolsAndFailedRun(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	nmap := scannertest.Tool(t, bin, "nmap", scannertest.Behaviour{ExitCode: 1, Version: "Nmap version 7.94SVN ( https://nmap.org )",
		Stderr: "Failed to open XML output file nmap-x.xml for writing"})
	base := browser(t)
	ctx := step(t, base)
	p, password := servePlatform(t, "CSPM_NMAP_BIN="+nmap, "CSPM_TRIVY_BIN="+filepath.Join(bin, "no-trivy"), "CSPM_GRYPE_BIN="+filepath.Join(bin, "no-grype"), "CSPM_KEV_URL=")
	signIn(t, ctx, p.url, "admin@cspm.local", password)

	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Navigate(p.url+"/status"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tool-row"][data-tool="nmap"]`)),
	); err != nil {
		shot(t, ctx, "cspm-tools-status.png")
		t.Fatal(err)
	}
	// Badges are upper-cased by CSS; compare in lower case.
	nmapRow := strings.ToLower(text(t, ctx, `[data-testid="tool-row"][data-tool="nmap"]`))
	trivyRow := strings.ToLower(text(t, ctx, `[data-testid="tool-row"][data-tool="trivy"]`))
	if !strings.Contains(nmapRow, "installed") || !strings.Contains(nmapRow, "nmap version 7.94svn") || !strings.Contains(nmapRow, "nmap_bin") {
		t.Errorf("nmap row %q", nmapRow)
	}
	if !strings.Contains(trivyRow, "missing") || !strings.Contains(trivyRow, "trivy_bin") || !strings.Contains(trivyRow, "install:") {
		t.Errorf("trivy row %q", trivyRow)
	}
	// The workers' own reports: this process's worker, with nmap and without trivy.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="worker-row"]`))); err != nil {
		shot(t, ctx, "cspm-tools-workers.png")
		t.Fatal(err)
	}
	if got, missing := strings.ToLower(text(t, ctx, `[data-testid="worker-row"] [data-testid="worker-tool-nmap"]`)),
		strings.ToLower(text(t, ctx, `[data-testid="worker-row"] [data-testid="worker-tool-trivy"]`)); got != "yes" || missing != "no" {
		t.Errorf("the worker's report: nmap %q, trivy %q", got, missing)
	}

	// Container scans: both scanners missing, the form says so and will not start.
	ctx = step(t, base)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/scans"),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-type"]`)),
		chromedp.Click(chromedp.Search(`//*[@data-testid="scan-type"]//label[normalize-space()="container"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tool-missing-trivy"]`)),
	); err != nil {
		shot(t, ctx, "cspm-tools-form.png")
		t.Fatal(err)
	}
	missing := text(t, ctx, `[data-testid="tools-missing"]`)
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="scan-submit"]').disabled`))
	if err != nil {
		t.Fatal(err)
	}
	if !disabled || !strings.Contains(missing, "trivy_bin (CSPM_TRIVY_BIN)") || !strings.Contains(missing, "grype_bin") {
		t.Fatalf("container form: submit disabled %v, %q", disabled, missing)
	}

	// A network scan whose Nmap cannot write its report: one attempt, a red bar, no findings link.
	ctx = step(t, base)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//*[@data-testid="scan-type"]//label[normalize-space()="network"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="scan-targets"]`), "127.0.0.1"),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="run-progress"][data-status="failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="run-no-findings"]`)),
	); err != nil {
		shot(t, ctx, "cspm-tools-failed-run.png")
		t.Fatal(err)
	}
	detail := text(t, ctx, `[data-testid="run-detail"]`)
	subjob := strings.ToLower(text(t, ctx, `[data-testid="subjob-row"]`))
	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	failedBar, okBar, findingsLink := count(`[data-testid="progress-failed"]`), count(`[data-testid="progress-ok"]`), count(`[data-testid="run-findings"]`)
	if failedBar != 1 || okBar != 0 || findingsLink != 0 {
		t.Errorf("failed run: %d red sections, %d others, %d findings links", failedBar, okBar, findingsLink)
	}
	if !strings.Contains(detail, "permanent failure (not retried)") || !strings.Contains(subjob, "failed") || !strings.Contains(subjob, "report file") {
		t.Errorf("failed run detail %q, SubJob %q", detail, subjob)
	}
}
