package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/offloadsecurity/cspm/internal/scanner/scannertest"
)

// stsServer answers STS's AssumeRole and GetCallerIdentity as AWS does; an
// AssumeRole must carry the external ID that externalID holds by then.
func stsServer(t *testing.T, account string, externalID *atomic.Value) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		w.Header().Set("Content-Type", "text/xml")
		switch form.Get("Action") {
		case "AssumeRole":
			if want, _ := externalID.Load().(string); want == "" || form.Get("ExternalId") != want {
				w.WriteHeader(403)
				fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>denied</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
				return
			}
			fmt.Fprint(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAE2EROLE000000001</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::`+account+`:assumed-role/SecurityAudit/cspm</Arn><AssumedRoleId>AROA:cspm</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></AssumeRoleResponse>`)
		case "GetCallerIdentity":
			fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::`+account+`:assumed-role/SecurityAudit/cspm</Arn><UserId>AROA:cspm</UserId><Account>`+account+`</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>3</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
		default:
			w.WriteHeader(400)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// An ADMIN adds an AWS account (a role to assume) in the UI, tests the
// connection against a local STS, scans it with a stand-in Prowler, watches
// the run finish on its page, downloads nothing but sees the report link,
// opens the run's findings, and schedules the account weekly. Then a real
// Nmap scan of a loopback port from the New scan form.
func TestBrowserCloudAccountScanAndSchedule(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "runs.jsonl")
	prowler := scannertest.Tool(t, bin, "prowler", scannertest.Behaviour{Sample: scannertest.Sample(t, "prowler/example_output_aws.ocsf.json"),
		ExitCode: 3, SleepMS: 1500, Chatter: true, Record: record})
	// A Trivy that runs until it is killed, for the cancel button.
	trivy := scannertest.Tool(t, bin, "trivy", scannertest.Behaviour{SleepMS: 120000, Chatter: true})
	var externalID atomic.Value
	sts := stsServer(t, "111122223333", &externalID)
	// Each part of this long test gets its own deadline from the browser's
	// context, so a slow machine fails one step rather than the sum of
	// them against one deadline.
	base := browser(t)
	ctx := step(t, base)
	p, password := servePlatform(t, "CSPM_PROWLER_BIN="+prowler, "CSPM_TRIVY_BIN="+trivy,
		"CSPM_AWS_ENDPOINT_URL="+sts.URL, "CSPM_KEV_URL=",
		// The worker's own identity, from which the role is assumed.
		"AWS_ACCESS_KEY_ID=AKIAWORKER0000000001", "AWS_SECRET_ACCESS_KEY=worker", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	signIn(t, ctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/cloud-accounts"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="account-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-uid"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="account-uid"]`), "111122223333"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="account-alias"]`), "production"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="account-regions"]`), "eu-west-1"),
		chromedp.KeyEvent("\r"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="account-regions"]`), "us-east-1"),
		chromedp.KeyEvent("\r"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="cred-role-arn"]`), "arn:aws:iam::111122223333:role/SecurityAudit"),
		chromedp.Click(chromedp.CSS(`[data-testid="account-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-row"]`)),
		// The modal's closing overlay would take the next click.
		chromedp.WaitNotPresent(chromedp.CSS(`.mantine-Modal-overlay`)),
	); err != nil {
		shot(t, ctx, "cspm-accounts-failed.png")
		t.Fatal(err)
	}
	// The user puts the external ID the platform chose into the role's
	// trust policy: here, the stand-in STS's.
	id := text(t, ctx, `[data-testid="account-external-id"]`)
	if !strings.HasPrefix(id, "cspm-") {
		t.Fatalf("external ID shown %q", id)
	}
	externalID.Store(id)
	ctx = step(t, base)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="account-test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-test-result"]`)),
	); err != nil {
		shot(t, ctx, "cspm-accounts-failed.png")
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="account-test-result"]`); !strings.EqualFold(got, "connected") {
		t.Fatalf("connection test shows %q", got)
	}
	if got := text(t, ctx, `[data-testid="accounts-table"]`); !strings.Contains(got, "eu-west-1, us-east-1") || !strings.Contains(got, "SecurityAudit") {
		t.Fatalf("account row %q", got)
	}

	// Scan it: two regions, one SubJob each.
	ctx = step(t, base)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="account-scan"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="subjobs-table"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="run-findings"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="run-status"]`); !strings.EqualFold(got, "completed") {
		t.Fatalf("run status %q", got)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="subjob-row"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="subjob-artifact"]').length`))
	if err != nil || rows != 2 || links != 2 {
		t.Fatalf("%d SubJob rows, %d report links: %v", rows, links, err)
	}
	runs := scannertest.Runs(t, record)
	if len(runs) != 2 || !slices.Contains(runs[0].Args, "--role") || !slices.Contains(runs[0].Args, id) {
		t.Fatalf("prowler runs %d: %v", len(runs), runs)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="run-findings"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="findings-table"] tbody tr`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="findings-total"]`); got == "" || strings.HasPrefix(got, "0 ") {
		t.Fatalf("findings of the scan: %q", got)
	}

	// A weekly schedule shows its next run.
	ctx = step(t, base)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/cloud-accounts"),
		steady(`[data-testid="account-schedules"]`),
		chromedp.Click(chromedp.CSS(`[data-testid="account-schedules"]`)),
		steady(`[data-testid="schedule-add"]`), // the drawer may still be opening on a loaded machine
		chromedp.Click(chromedp.CSS(`[data-testid="schedule-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="schedule-next"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="schedules"]`); !strings.Contains(got, "Daily at 02:00 UTC") {
		t.Fatalf("schedule %q", got)
	}

	// A container scan that runs until the Cancel button stops it.
	cctx := step(t, base)
	if err := chromedp.Do(cctx,
		chromedp.Navigate(p.url+"/scans"),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-type"]`)),
		chromedp.Click(chromedp.Search(`//*[@data-testid="scan-type"]//label[normalize-space()="container"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="scan-targets"]`), "registry.example/shop:2.0"),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-cancel"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-cancel"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="scan-cancel"]`)),
	); err != nil {
		shot(t, ctx, "cspm-cancel-failed.png")
		t.Fatal(err)
	}
	if got := text(t, cctx, `[data-testid="run-status"]`); !strings.EqualFold(got, "cancelled") {
		t.Fatalf("cancelled run shows %q", got)
	}

	// A network scan from the New scan form, with real Nmap.
	if os.Getenv("CI") != "true" {
		if _, err := os.Stat("/usr/bin/nmap"); err != nil {
			return
		}
	}
	port := fmt.Sprint(webTarget(t))
	ctx2 := step(t, base)
	if err := chromedp.Do(ctx2,
		chromedp.Navigate(p.url+"/scans"),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="scan-targets"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="scan-targets"]`), "127.0.0.1"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="scan-ports"]`), port),
		chromedp.Click(chromedp.CSS(`[data-testid="scan-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="run-findings"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx2, `[data-testid="run-status"]`); !strings.EqualFold(got, "completed") {
		t.Fatalf("network scan %q", got)
	}
	if shot, err := chromedp.Run(ctx2, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(os.TempDir()+"/cspm-scan-run.png", shot, 0o644)
	}
}

// shot saves a screenshot under the temporary directory, for a failure's
// post-mortem.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
		p := filepath.Join(os.TempDir(), name)
		_ = os.WriteFile(p, png, 0o600)
		t.Logf("screenshot: %s", p)
	}
}
