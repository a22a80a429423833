package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// The accounts list shows each account's newest scan, its next scheduled
// scan and its pass rate from the findings, and nothing of another team's.
func TestCloudAccountsListShowsScansAndPosture(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		tm := e.team(uniq("accounts"))
		admin := e.login(e.user(tm.ID, rbac.Admin).Email)
		type account struct {
			ID         string `json:"id"`
			AccountUID string `json:"account_uid"`
			Status     *struct {
				LastScanID     string   `json:"last_scan_id"`
				LastScanStatus string   `json:"last_scan_status"`
				LastScanAt     *string  `json:"last_scan_at"`
				NextScanAt     *string  `json:"next_scan_at"`
				Passed         int      `json:"passed"`
				Failed         int      `json:"failed"`
				Manual         int      `json:"manual"`
				PassRate       *float64 `json:"pass_rate"`
			} `json:"status"`
		}
		var ids []string
		for _, uid := range []string{"111122223333", "444455556666"} {
			status, body := admin.do("POST", "/api/v1/cloud/accounts", map[string]any{"provider": "aws", "account_uid": uid, "regions": []string{"eu-west-1"},
				"credentials": map[string]any{"type": "access_keys", "access_key_id": "AKIAEXAMPLE0000" + uid[:1], "secret_access_key": "secret"}})
			if status != 201 {
				t.Fatalf("create account %s: %d %s", uid, status, body)
			}
			ids = append(ids, decode[account](t, body).ID)
		}
		// Three passing and one failing check in the first account, and one
		// MANUAL result, which is no failure.
		var items []string
		for i, st := range []string{"PASS", "PASS", "PASS", "FAIL", "MANUAL"} {
			items = append(items, fmt.Sprintf(`{"class_uid":2004,"status_code":%q,"severity":"High","finding_info":{"uid":"f%d","title":"t"},`+
				`"metadata":{"event_code":"check_%d","product":{"name":"Prowler"}},"cloud":{"provider":"aws","account":{"uid":"111122223333"},"region":"eu-west-1"},`+
				`"resources":[{"uid":"arn:aws:s3:::b%d"}]}`, st, i, i, i))
		}
		// Imported in process: without workers, the scan below stays queued.
		if _, err := e.app.Findings.Import(context.Background(), strings.NewReader("["+strings.Join(items, ",")+"]"),
			findings.ImportParams{TeamID: tm.ID}); err != nil {
			t.Fatal(err)
		}
		if status, body := admin.do("POST", "/api/v1/scan-schedules", map[string]any{"account_id": ids[0], "tools": []string{"prowler"},
			"frequency": "daily", "hour": 3}); status != 201 {
			t.Fatalf("schedule: %d %s", status, body)
		}
		status, body := admin.do("POST", "/api/v1/cloud/scan", map[string]any{"account_id": ids[0], "tools": []string{"prowler"}})
		if status != 201 && status != 202 {
			t.Fatalf("scan: %d %s", status, body)
		}
		run := decode[struct {
			ID string `json:"id"`
		}](t, body)

		status, body = admin.do("GET", "/api/v1/cloud/accounts", nil)
		if status != 200 {
			t.Fatalf("list: %d %s", status, body)
		}
		list := decode[struct {
			Accounts []account `json:"accounts"`
		}](t, body).Accounts
		if len(list) != 2 {
			t.Fatalf("%d accounts", len(list))
		}
		for _, a := range list {
			if a.Status == nil {
				t.Fatalf("%s: no status in %s", a.AccountUID, body)
			}
			st := a.Status
			switch a.AccountUID {
			case "111122223333":
				if st.Passed != 3 || st.Failed != 1 || st.Manual != 1 || st.PassRate == nil || *st.PassRate != 0.75 {
					t.Errorf("first account's posture: %+v", st)
				}
				if st.LastScanID != run.ID || st.LastScanStatus != "queued" || st.LastScanAt == nil || st.NextScanAt == nil {
					t.Errorf("first account's scans: %+v, want run %s queued and a next scan", st, run.ID)
				}
			default:
				if st.Passed+st.Failed != 0 || st.PassRate != nil || st.LastScanID != "" || st.NextScanAt != nil {
					t.Errorf("second account has neither findings nor scans: %+v", st)
				}
			}
		}
	})
}

// An assume_role AWS account gets role templates carrying its own external
// ID; another team's account is not found; an access-key account is refused.
func TestCloudAccountOnboardingKit(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		tm, other := e.team(uniq("onboard")), e.team(uniq("other"))
		admin := e.login(e.user(tm.ID, rbac.Admin).Email)
		create := func(c *client, uid string, creds map[string]any) (id, externalID string) {
			status, body := c.do("POST", "/api/v1/cloud/accounts", map[string]any{"provider": "aws", "account_uid": uid, "credentials": creds})
			if status != 201 {
				t.Fatalf("create: %d %s", status, body)
			}
			a := decode[struct {
				ID         string `json:"id"`
				ExternalID string `json:"external_id"`
			}](t, body)
			return a.ID, a.ExternalID
		}
		role, ext := create(admin, "111122223333", map[string]any{"type": "assume_role", "role_arn": "arn:aws:iam::111122223333:role/" + "OffloadSecurityCSPMScan"})
		status, body := e.login(e.user(tm.ID, rbac.Viewer).Email).do("GET", "/api/v1/cloud/accounts/"+role+"/onboarding", nil)
		if status != 200 {
			t.Fatalf("onboarding: %d %s", status, body)
		}
		kit := decode[struct {
			ExternalID     string `json:"external_id"`
			CloudFormation string `json:"cloudformation"`
			Terraform      string `json:"terraform"`
		}](t, body)
		if ext == "" || kit.ExternalID != ext || !strings.Contains(kit.CloudFormation, ext) || !strings.Contains(kit.Terraform, ext) {
			t.Errorf("kit %+v does not carry the account's external ID %q", kit.ExternalID, ext)
		}
		keys, _ := create(admin, "444455556666", map[string]any{"type": "access_keys", "access_key_id": "AKIAEXAMPLE00001", "secret_access_key": "s"})
		if status, body := admin.do("GET", "/api/v1/cloud/accounts/"+keys+"/onboarding", nil); status != 422 {
			t.Errorf("access keys: %d %s, want 422", status, body)
		}
		if status, _ := e.login(e.user(other.ID, rbac.Admin).Email).do("GET", "/api/v1/cloud/accounts/"+role+"/onboarding", nil); status != 404 {
			t.Errorf("another team's account: %d, want 404", status)
		}
	})
}
