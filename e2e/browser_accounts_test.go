package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The cloud accounts list of issue 20: an AWS account that scans through an
// assumed role, with the posture of its imported findings, shows its pass
// rate and open failures (linked to them), says it was never scanned nor
// scheduled, and gives the role's CloudFormation and Terraform with its
// external ID.
func TestBrowserCloudAccountsListAndOnboarding(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	p, password := servePlatform(t)
	c, csrf := apiSession(t, p.url, "admin@cspm.local", password)
	body := `{"provider":"aws","account_uid":"123456789012","alias":"prod","regions":["eu-west-1"],` +
		`"credentials":{"type":"assume_role","role_arn":"arn:aws:iam::123456789012:role/OffloadSecurityCSPMScan"}}`
	req, _ := http.NewRequest("POST", p.url+"/api/v1/cloud/accounts", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := c.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create the account: %v %v", res, err)
	}
	var account struct {
		ExternalID string `json:"external_id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&account)
	res.Body.Close()
	if account.ExternalID == "" {
		t.Fatal("no external ID")
	}
	// The account's findings: one PASS, two FAIL and a MANUAL, imported
	// through the API as a pipeline would.
	var items []string
	for i, st := range []string{"PASS", "FAIL", "FAIL", "MANUAL"} {
		items = append(items, fmt.Sprintf(`{"class_uid":2004,"status_code":%q,"severity":"High","finding_info":{"uid":"f%d","title":"check %d"},`+
			`"metadata":{"event_code":"check_%d","product":{"name":"Prowler"}},"cloud":{"provider":"aws","account":{"uid":"123456789012"},"region":"eu-west-1"},`+
			`"resources":[{"uid":"arn:aws:s3:::bucket-%d"}]}`, st, i, i, i, i))
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "prowler.ocsf.json")
	_, _ = fw.Write([]byte("[" + strings.Join(items, ",") + "]"))
	_ = mw.Close()
	req, _ = http.NewRequest("POST", p.url+"/api/v1/imports", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", csrf)
	res, err = c.Do(req)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("import: %v %v", res, err)
	}
	var queued struct {
		ScanID string `json:"scan_id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&queued)
	res.Body.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		res, err := c.Get(p.url + "/api/v1/imports/" + queued.ScanID)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Status string `json:"status"`
		}
		_ = json.NewDecoder(res.Body).Decode(&rec)
		res.Body.Close()
		if rec.Status == "completed" {
			break
		}
		if rec.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("import %s: %s", queued.ScanID, rec.Status)
		}
	}
	sctx := step(t, ctx)
	signIn(t, sctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(sctx,
		// Signed in before leaving the login page.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Navigate(p.url+"/cloud-accounts"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-row"]`)),
	); err != nil {
		shot(t, ctx, "cspm-accounts-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="account-last-scan"]`); got != "never scanned" {
		t.Errorf("last scan %q", got)
	}
	if got := text(t, sctx, `[data-testid="account-next-scan"]`); got != "not scheduled" {
		t.Errorf("next scan %q", got)
	}
	failed, rate := text(t, sctx, `[data-testid="account-failed"]`), text(t, sctx, `[data-testid="account-pass-rate"]`)
	if failed != "2" || rate != "33%" {
		t.Errorf("open failures %q, pass rate %q; want 2 and 33%% (1 of 3)", failed, rate)
	}

	sctx = step(t, ctx)
	if err := chromedp.Do(sctx,
		chromedp.Click(chromedp.CSS(`[data-testid="account-onboarding"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="onboarding-cloudformation"]`)),
	); err != nil {
		shot(t, ctx, "cspm-onboarding-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="onboarding-external-id"]`); got != account.ExternalID {
		t.Errorf("the kit shows external ID %q, the account has %q", got, account.ExternalID)
	}
	if cfn := text(t, sctx, `[data-testid="onboarding-cloudformation"]`); !strings.Contains(cfn, "sts:ExternalId: \""+account.ExternalID+"\"") ||
		!strings.Contains(cfn, "arn:aws:iam::aws:policy/SecurityAudit") {
		t.Errorf("the CloudFormation template lacks the trust condition or the policies:\n%s", cfn)
	}

	// The failures lead to the account's open failures.
	sctx = step(t, ctx)
	href, err := chromedp.Run(sctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="account-failed"]').getAttribute('href')`))
	if err != nil || !strings.Contains(href, "account=123456789012") || !strings.Contains(href, "result=fail") {
		t.Fatalf("the failures link is %q (%v)", href, err)
	}
	if err := chromedp.Do(sctx,
		chromedp.Navigate(p.url+href),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		shot(t, ctx, "cspm-accounts-link-failed.png")
		t.Fatal(err)
	}
	if got := text(t, sctx, `[data-testid="findings-total"]`); got != "2 findings" {
		t.Errorf("the account's failures link shows %q", got)
	}
}
