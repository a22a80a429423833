package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/notify"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// An ADMIN's webhook rule hears, signed, about the critical and high
// findings an uploaded report opened; other roles cannot change rules,
// and no answer shows the rule's secrets.
func TestImportNotifiesAWebhook(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnvWithWorkers(t, reg, func(c *config.Config) {
			c.IntegrationsAllowInsecure = true // the receiver is a loopback httptest server
			c.PublicURL = "https://cspm.example.com"
		})
		teamID := e.team("acme").ID
		admin := e.tokenClient(e.user(teamID, rbac.Admin).Email)
		analyst := e.tokenClient(e.user(teamID, rbac.SecurityAnalyst).Email)
		viewer := e.tokenClient(e.user(teamID, rbac.Viewer).Email)

		var (
			mu     sync.Mutex
			bodies []map[string]any
			secret string
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if err := notify.Verify(secret, r.Header.Get(notify.HeaderSignature), r.Header.Get(notify.HeaderTimestamp), body, time.Now(), time.Minute); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			bodies = append(bodies, m)
		}))
		t.Cleanup(srv.Close)

		rule := map[string]any{"name": "SOC", "event": "finding.new", "filters": map[string]any{"severities": []string{"critical", "high"}},
			"channel": map[string]any{"kind": "webhook", "url": srv.URL + "/hook/TOKEN123"}}
		if status, body := analyst.do("POST", "/api/v1/notifications/rules", rule); status != 403 {
			t.Errorf("analyst creates a rule: %d %s", status, body)
		}
		if status, _ := viewer.do("GET", "/api/v1/notifications/rules", nil); status != 403 {
			t.Errorf("viewer lists rules: %d", status)
		}
		status, body := admin.do("POST", "/api/v1/notifications/rules", rule)
		if status != 201 {
			t.Fatalf("create rule: %d %s", status, body)
		}
		created := decode[notify.Rule](t, body)
		mu.Lock()
		secret = created.SigningSecret
		mu.Unlock()
		if secret == "" {
			t.Fatal("no signing secret answered at creation")
		}
		_, body = admin.do("GET", "/api/v1/notifications/rules/"+created.ID, nil)
		if strings.Contains(string(body), "TOKEN123") || strings.Contains(string(body), secret) {
			t.Errorf("a read answers secrets: %s", body)
		}
		bad := map[string]any{"name": "x", "event": "scan.failed", "channel": map[string]any{"kind": "webhook", "url": "http://169.254.169.254/latest"}}
		if status, body := admin.do("POST", "/api/v1/notifications/rules", bad); status != 422 || !strings.Contains(string(body), "metadata") {
			t.Errorf("metadata URL: %d %s", status, body)
		}

		status, body = analyst.upload("/api/v1/imports", "trivy.json", sampleFile(t, "trivy/scheme_2_many_vulns.json"))
		if status != 202 {
			t.Fatalf("upload = %d %s", status, body)
		}
		scanID := decode[struct {
			ScanID string `json:"scan_id"`
		}](t, body).ScanID
		if rec := waitImport(t, analyst, scanID); rec.Status != "completed" {
			t.Fatalf("import = %+v", rec)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := len(bodies)
			var got map[string]any
			if n > 0 {
				got = bodies[0]
			}
			mu.Unlock()
			if n > 0 {
				ev, _ := got["event"].(map[string]any)
				if ev["type"] != "finding.new" || !strings.HasPrefix(ev["url"].(string), "https://cspm.example.com/findings?scan="+scanID) {
					t.Errorf("webhook body %v", got)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no notification 30 s after the import")
			}
			time.Sleep(100 * time.Millisecond)
		}
		status, body = admin.do("GET", "/api/v1/notifications/rules/"+created.ID+"/deliveries", nil)
		list := decode[struct {
			Deliveries []notify.Delivery `json:"deliveries"`
		}](t, body)
		if status != 200 || len(list.Deliveries) != 1 || list.Deliveries[0].Status != notify.StatusDelivered {
			t.Errorf("delivery log: %d %s", status, body)
		}
	})
}

// An analyst sends a vulnerability to GitHub Issues; the vulnerability
// shows the ticket, and GitHub's signed issues event marks it done.
func TestVulnerabilityTicketThroughTheAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, func(c *config.Config) { c.IntegrationsAllowInsecure = true })
		teamID := e.team("acme").ID
		admin := e.tokenClient(e.user(teamID, rbac.Admin).Email)
		analyst := e.tokenClient(e.user(teamID, rbac.SecurityAnalyst).Email)
		gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/repos/acme/infra/issues" || r.Header.Get("Authorization") != "Bearer ghp_app" {
				http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"number":7,"html_url":"https://github.com/acme/infra/issues/7","state":"open"}`)
		}))
		t.Cleanup(gh.Close)
		const secret = "github-webhook-secret-123"
		status, body := admin.do("POST", "/api/v1/tickets/integrations", map[string]any{"kind": "github", "name": "infra", "base_url": gh.URL,
			"project": "acme/infra", "token": "ghp_app", "webhook_secret": secret})
		if status != 201 {
			t.Fatalf("create integration: %d %s", status, body)
		}
		it := decode[notify.Integration](t, body)
		if strings.Contains(string(body), "ghp_app") || strings.Contains(string(body), secret) {
			t.Errorf("integration answers its secrets: %s", body)
		}
		occ := vulnFixture(t, e, teamID)
		status, body = analyst.do("POST", "/api/v1/tickets", map[string]any{"integration_id": it.ID, "subject_kind": "vulnerability",
			"subject_ids": []string{occ.VulnID}})
		if status != 200 || !strings.Contains(string(body), `"key":"acme/infra#7"`) {
			t.Fatalf("create ticket: %d %s", status, body)
		}
		_, body = analyst.do("GET", "/api/v1/vulnerabilities/"+occ.VulnID, nil)
		if !strings.Contains(string(body), `"tickets":[{"key":"acme/infra#7","url":"https://github.com/acme/infra/issues/7","state":"open"`) {
			t.Errorf("vulnerability detail: %s", body)
		}
		event := `{"action":"closed","issue":{"number":7,"state":"closed"},"repository":{"full_name":"acme/infra"}}`
		hook := func(sig string) int {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/tickets/webhooks/github?integration="+it.ID, strings.NewReader(event))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "issues")
			req.Header.Set("X-Hub-Signature-256", sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if s := hook("sha256=00"); s != 401 {
			t.Errorf("bad signature answered %d", s)
		}
		if s := hook(hubSignature(secret, event)); s != 204 {
			t.Fatalf("signed webhook answered %d", s)
		}
		_, body = analyst.do("GET", "/api/v1/tickets?subject_kind=vulnerability&subject_id="+occ.VulnID, nil)
		if !strings.Contains(string(body), `"state":"done"`) {
			t.Errorf("after GitHub closed it: %s", body)
		}
	})
}

func hubSignature(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
