package app_test

import (
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
