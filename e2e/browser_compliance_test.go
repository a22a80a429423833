package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sharedSample is a file of ../shared/samples, from the e2e directory.
func sharedSample(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../../shared/samples", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared sample missing: %v", err)
	}
	return p
}

var scoreText = regexp.MustCompile(`^\d+(\.\d)?%$`)

// An ADMIN starts with no compliance content, is told how to load it,
// loads NIST CSF 2.0, SCF 2025.2.2, their mapping set and Prowler's NIST
// CSF map through the Imports tab (the mapping set first, to see its
// missing dependency named), imports a Prowler report, syncs, and follows
// the overview to a framework's requirements, an SCF control's checks and
// the failing findings. Each compliance page is then measured for
// horizontal overflow at a laptop's and a phone's width; screenshots land
// in $TMPDIR/cspm-compliance/.
func TestBrowserCompliance(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	p, password := servePlatform(t)
	dir := filepath.Join(os.TempDir(), "cspm-compliance")
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

	sctx := step(t, ctx)
	signIn(t, sctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(sctx,
		chromedp.EmulateViewport(1440, 900),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/compliance"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="compliance-empty"] a[href="/compliance/imports"]`)),
	); err != nil {
		fail(sctx, "empty", err)
	}
	if got := text(t, sctx, `[data-testid="compliance-empty"]`); !strings.Contains(got, "cspm scf import FILE") {
		t.Errorf("the empty state does not give the CLI: %q", got)
	}
	save(sctx, "empty")

	upload := func(rel string) {
		t.Helper()
		file := sharedSample(t, rel)
		uctx := step(t, ctx)
		if err := chromedp.Do(uctx,
			chromedp.Navigate(p.url+"/compliance/imports"),
			chromedp.WaitReady(chromedp.CSS(`input[type="file"]`)),
			chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{file}),
			chromedp.Click(chromedp.CSS(`[data-testid="content-submit"]`)),
			chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="import-result"][contains(., "`+filepath.Base(file)+`")]`)),
		); err != nil {
			fail(uctx, "import-"+filepath.Base(file), err)
		}
		items, _ := chromedp.Run(uctx, chromedp.Evaluate[[]string](`[...document.querySelector('[data-testid="import-result"]').querySelectorAll('[data-testid="import-item"]')].map(r => [...r.cells].map(c => c.innerText.replace(/\s+/g, " ").trim()).join(" | "))`))
		t.Logf("%s: %s", filepath.Base(file), strings.Join(items, "; "))
	}

	// A mapping set before its frameworks is refused, naming what to load.
	ectx := step(t, ctx)
	if err := chromedp.Do(ectx,
		chromedp.Navigate(p.url+"/compliance/imports"),
		chromedp.WaitReady(chromedp.CSS(`input[type="file"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{sharedSample(t, "frameworks/mapping-nist-csf-2.0-and-scf-2025.2.2.yaml")}),
		chromedp.Click(chromedp.CSS(`[data-testid="content-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="content-error"]`)),
	); err != nil {
		fail(ectx, "import-error", err)
	}
	if got := text(t, ectx, `[data-testid="content-error"]`); !strings.Contains(got, "load library") {
		t.Errorf("a missing dependency reads %q", got)
	}
	save(ectx, "import-error")

	upload("frameworks/nist-csf-2.0.yaml")
	upload("frameworks/scf-2025.2.2.yaml")
	upload("frameworks/mapping-nist-csf-2.0-and-scf-2025.2.2.yaml")
	upload("prowler/compliance/nist_csf_2.0_aws.json")
	save(step(t, ctx), "imports")

	// From a page without a file input of its own: the import page's is the one to fill.
	rctx := step(t, ctx)
	if err := chromedp.Do(rctx, chromedp.Navigate(p.url+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`))); err != nil {
		t.Fatal(err)
	}
	uploadReport(t, rctx, "prowler/example_output_aws.ocsf.json")

	// Sync now, from the overview.
	octx := step(t, ctx)
	if err := chromedp.Do(octx,
		chromedp.Click(chromedp.CSS(`nav a[href="/compliance"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sync-now"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="sync-now"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sync-result"]`)),
	); err != nil {
		fail(octx, "sync", err)
	}
	t.Logf("sync: %s", text(t, octx, `[data-testid="sync-result"]`))
	if got := text(t, octx, `[data-testid="sync-last-full"]`); got == "never" {
		t.Errorf("after a sync the last full sync reads %q", got)
	}
	type card struct{ Name, Score, Href string }
	cards, err := chromedp.Run(octx, chromedp.Evaluate[[]card](`[...document.querySelectorAll('[data-testid="framework-card"]')].map(c => ({
		Name: c.querySelector('[data-testid="framework-name"]').innerText,
		Score: c.querySelector('[data-testid="framework-score"]').innerText.trim(),
		Href: c.getAttribute('href')}))`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("framework cards: %+v", cards)
	if len(cards) < 3 {
		t.Fatalf("%d framework cards, want NIST CSF 2.0, SCF 2025.2.2 and Prowler's NIST CSF map", len(cards))
	}
	scored := 0
	for _, c := range cards {
		if scoreText.MatchString(c.Score) {
			scored++
		}
	}
	if scored == 0 {
		t.Errorf("no framework shows a score: %+v", cards)
	}
	if got := text(t, octx, `[data-testid="overall-score"]`); !scoreText.MatchString(got) {
		t.Errorf("overall score reads %q", got)
	}
	if n, _ := chromedp.Run(octx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="domain-cell"]').length`)); n == 0 {
		t.Error("no SCF domain in the heatmap")
	}
	save(octx, "overview")

	// The library's NIST CSF 2.0: requirements with statuses, filtered to the failing ones.
	var csf card
	for _, c := range cards {
		if strings.Contains(c.Name, "NIST") && scoreText.MatchString(c.Score) {
			csf = c
			break
		}
	}
	if csf.Href == "" {
		t.Fatalf("no scored NIST CSF framework among %+v", cards)
	}
	fctx := step(t, ctx)
	if err := chromedp.Do(fctx,
		chromedp.Navigate(p.url+csf.Href),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="requirements-table"] [data-testid="status-badge"]`)),
		chromedp.Click(chromedp.Search(`//*[@data-testid="status-filter"]//label[normalize-space()="Failing"]`)),
		chromedp.Click(chromedp.Search(`//*[@data-testid="status-filter"]//label[normalize-space()="Partial"]`)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="requirements-table"] [data-testid="control-link"][data-status="failing"]`)),
	); err != nil {
		fail(fctx, "framework", err)
	}
	statuses, _ := chromedp.Run(fctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="requirement-row"] [data-testid="status-badge"]')].map(b => b.innerText.trim().toLowerCase())`))
	t.Logf("%s, failing or partial: %d rows", csf.Name, len(statuses))
	leaves := 0
	for _, s := range statuses {
		if s != "failing" && s != "partial" {
			// Sections keep their own rolled-up status; count the requirements.
			continue
		}
		leaves++
	}
	if leaves == 0 {
		t.Errorf("the failing filter shows no failing or partial requirement: %v", statuses)
	}
	frameworkPath, _ := chromedp.Run(fctx, chromedp.Location())
	save(fctx, "framework")

	// Drill down: requirement -> SCF control -> its checks -> failing findings.
	cctx := step(t, ctx)
	if err := chromedp.Do(cctx,
		chromedp.Click(chromedp.CSS(`[data-testid="requirements-table"] [data-testid="control-link"][data-status="failing"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="control-detail"]`)),
	); err != nil {
		fail(cctx, "control", err)
	}
	controlPath, _ := chromedp.Run(cctx, chromedp.Location())
	t.Logf("control %s", text(t, cctx, `[data-testid="control-title"]`))
	if err := chromedp.Do(cctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="control-checks"] [data-testid="check-row"]`))); err != nil {
		fail(cctx, "control-checks", err)
	}
	save(cctx, "control")
	href, err := chromedp.Run(cctx, chromedp.Evaluate[string](`(document.querySelector('[data-testid="check-failing-link"]') || {}).getAttribute?.('href') || ""`))
	if err != nil || !strings.HasPrefix(href, "/findings?") {
		t.Fatalf("the control links to its failing findings with %q (%v)", href, err)
	}
	if err := chromedp.Do(cctx,
		chromedp.Click(chromedp.CSS(`[data-testid="check-failing-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		fail(cctx, "failing-findings", err)
	}
	if got := text(t, cctx, `[data-testid="findings-total"]`); strings.HasPrefix(got, "0 ") {
		t.Errorf("the failing check's link shows %q", got)
	}

	// Export: both formats download from the framework page's buttons.
	for _, f := range []string{"csv", "xlsx"} {
		js := fmt.Sprintf(`fetch(document.querySelector('[data-testid="export-%s"]').getAttribute('href')).then(r => r.status + " " + r.headers.get("content-disposition"))`, f)
		xctx := step(t, ctx)
		if err := chromedp.Do(xctx, chromedp.Navigate(frameworkPath), chromedp.WaitVisible(chromedp.CSS(`[data-testid="export-`+f+`"]`))); err != nil {
			fail(xctx, "export", err)
		}
		got, err := chromedp.Run(xctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil || !strings.HasPrefix(got, "200 attachment") || !strings.Contains(got, "."+f) {
			t.Errorf("export %s: %q (%v)", f, got, err)
		}
	}

	// An attestation with an evidence file, through the Attestations tab.
	actx := step(t, ctx)
	evidence := filepath.Join(t.TempDir(), "policy.txt")
	_ = os.WriteFile(evidence, []byte("The security policy, approved by the board."), 0o644)
	if err := chromedp.Do(actx,
		chromedp.Navigate(p.url+"/compliance/attestations"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="attestation-control"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="attestation-control"]`), "GOV-01"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="attestation-statement"]`), "The board approved the security policy."),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="attestation-form"] input[type="file"]`), []string{evidence}),
		chromedp.Click(chromedp.CSS(`[data-testid="attestation-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="attestation-row"] [data-testid="attestation-evidence"]`)),
	); err != nil {
		fail(actx, "attestation", err)
	}
	if got := text(t, actx, `[data-testid="attestations-table"]`); !strings.Contains(got, "GOV-01") || !strings.Contains(got, "policy.txt") {
		t.Errorf("attestations table: %q", got)
	}

	// Every compliance page at 1,440 and 390 px.
	pages := []struct{ name, path, ready string }{
		{"overview", "/compliance", `[data-testid="framework-card"]`},
		{"framework", frameworkPath, `[data-testid="requirements-table"] [data-testid="requirement-row"]`},
		{"control", controlPath, `[data-testid="control-checks"]`},
		{"imports", "/compliance/imports", `[data-testid="content-submit"]`},
		{"attestations", "/compliance/attestations", `[data-testid="attestation-row"]`},
	}
	var problems []string
	for _, width := range layoutWidths {
		for _, pg := range pages {
			lctx := step(t, ctx)
			path := strings.TrimPrefix(pg.path, p.url)
			if err := chromedp.Do(lctx,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(p.url+path),
				chromedp.WaitVisible(chromedp.CSS(pg.ready)),
				chromedp.Sleep(600*time.Millisecond),
			); err != nil {
				fail(lctx, fmt.Sprintf("%d-%s", width, pg.name), err)
			}
			raw, err := chromedp.Run(lctx, chromedp.Evaluate[string](overflowJS))
			if err != nil {
				t.Fatal(err)
			}
			var m layoutMeasure
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				t.Fatal(err)
			}
			t.Logf("%-13s %4d px: page %d px wide", pg.name, width, m.Page)
			for _, pr := range m.Problems {
				problems = append(problems, fmt.Sprintf("%s at %d px: %s", pg.name, width, pr))
			}
			save(lctx, fmt.Sprintf("%d-%s", width, pg.name))
			// What a person sees first, at the size they see it.
			if png, err := chromedp.Run(lctx, chromedp.CaptureScreenshot()); err == nil {
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%s-top.png", width, pg.name)), png, 0o644)
			}
		}
	}
	// The official workbook, an older SCF version, lands beside SCF 2025.2.2
	// with a diff against it.
	upload("scf/scf-2022.2.1.xlsx")
	wctx := step(t, ctx)
	if got := text(t, wctx, `[data-testid="import-result"] [data-testid="import-item"]`); !strings.Contains(strings.ToLower(got), "scf workbook") {
		t.Errorf("the workbook imports as %q", got)
	}
	if n, _ := chromedp.Run(wctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="import-result"] [data-testid="import-diff"]').length`)); n == 0 {
		t.Log("the SCF workbook's import shows no diff")
	}
	save(wctx, "import-scf-workbook")

	// A SECURITY_MANAGER may rescore but not load content or attest; a
	// VIEWER only reads.
	c, csrf := apiSession(t, p.url, "admin@cspm.local", password)
	for _, u := range []struct{ email, role string }{{"manager@example.com", "SECURITY_MANAGER"}, {"viewer@example.com", "VIEWER"}} {
		body := `{"email":"` + u.email + `","role":"` + u.role + `","password":"compliance-password-77"}`
		req, _ := http.NewRequest("POST", p.url+"/api/v1/users", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		res, err := c.Do(req)
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("create %s: %v %v", u.role, res.StatusCode, err)
		}
		res.Body.Close()
		rctx := step(t, ctx)
		if err := chromedp.Do(rctx,
			chromedp.EmulateViewport(1440, 900),
			chromedp.Navigate(p.url+"/"),
			chromedp.Click(chromedp.CSS(`[data-testid="user-menu"]`)),
			chromedp.Click(chromedp.Search(`//button[normalize-space()="Sign out"]`)),
			chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		); err != nil {
			fail(rctx, "sign-out", err)
		}
		signIn(t, rctx, p.url, u.email, "compliance-password-77")
		if err := chromedp.Do(rctx,
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
			chromedp.Navigate(p.url+"/compliance"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="framework-card"]`)),
		); err != nil {
			fail(rctx, "role-"+u.role, err)
		}
		count := func(sel string) int {
			n, _ := chromedp.Run(rctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
			return n
		}
		wantSync := u.role == "SECURITY_MANAGER"
		if got := count(`[data-testid="sync-now"]`) == 1; got != wantSync {
			t.Errorf("%s sees Sync now: %v", u.role, got)
		}
		if n := count(`[data-testid="compliance-tab-imports"]`); n != 0 {
			t.Errorf("%s sees the Imports tab", u.role)
		}
		if err := chromedp.Do(rctx,
			chromedp.Navigate(p.url+"/compliance/attestations"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="attestation-row"]`)),
		); err != nil {
			fail(rctx, "role-attestations-"+u.role, err)
		}
		if n := count(`[data-testid="attestation-form"]`); n != 0 {
			t.Errorf("%s is offered the attestation form", u.role)
		}
	}

	t.Logf("screenshots: %s", dir)
	if len(problems) > 0 {
		t.Errorf("horizontal overflow:\n  %s", strings.Join(problems, "\n  "))
	}
}
