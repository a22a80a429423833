package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

var update = flag.Bool("update", false, "rewrite the OpenAPI snapshot in web/src/api")

func newApp(t *testing.T, reg *db.Registry) (*app.App, *httptest.Server) {
	t.Helper()
	cfg := config.Defaults()
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), reg, false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Router.Handler())
	t.Cleanup(srv.Close)
	return a, srv
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestHealthReadinessAndStatus(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		a, srv := newApp(t, reg)

		res, body := get(t, srv.URL+"/healthz")
		if res.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
			t.Fatalf("healthz = %d %s", res.StatusCode, body)
		}

		res, body = get(t, srv.URL+"/readyz")
		if res.StatusCode != 200 {
			t.Fatalf("readyz = %d %s", res.StatusCode, body)
		}
		var ready struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(body, &ready); err != nil {
			t.Fatal(err)
		}
		for _, n := range db.Names {
			if ready.Checks[string(n)] != "ok" {
				t.Errorf("readyz check %s = %q", n, ready.Checks[string(n)])
			}
		}
		if ready.Checks["queue"] != "ok" {
			t.Errorf("readyz queue = %q", ready.Checks["queue"])
		}

		res, body = get(t, srv.URL+"/api/v1/system/status")
		if res.StatusCode != 200 {
			t.Fatalf("status = %d %s", res.StatusCode, body)
		}
		var st struct {
			Engine    string `json:"engine"`
			Databases []struct {
				Name          string `json:"name"`
				SchemaVersion int    `json:"schema_version"`
				Reachable     bool   `json:"reachable"`
			} `json:"databases"`
			Queue struct {
				Reachable          bool `json:"reachable"`
				RiverSchemaVersion int  `json:"river_schema_version"`
			} `json:"queue"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if st.Engine != string(reg.Get(db.Platform).Dialect) {
			t.Errorf("engine = %q", st.Engine)
		}
		if len(st.Databases) != len(db.Names) {
			t.Fatalf("status lists %d databases, want %d", len(st.Databases), len(db.Names))
		}
		for _, d := range st.Databases {
			if !d.Reachable {
				t.Errorf("database %s unreachable", d.Name)
			}
		}
		if !st.Queue.Reachable || st.Queue.RiverSchemaVersion == 0 {
			t.Errorf("queue = %+v", st.Queue)
		}

		// Draining turns readiness off while liveness stays on.
		a.System.Drain()
		res, _ = get(t, srv.URL+"/readyz")
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz while draining = %d, want 503", res.StatusCode)
		}
		res, _ = get(t, srv.URL+"/healthz")
		if res.StatusCode != 200 {
			t.Fatalf("healthz while draining = %d", res.StatusCode)
		}
	})
}

func TestReadinessFailsWhenDatabaseCloses(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	_, srv := newApp(t, reg)
	reg.Get(db.Vulnerability).Close()
	res, body := get(t, srv.URL+"/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"vulnerability":"unreachable"`) {
		t.Fatalf("readyz = %d %s", res.StatusCode, body)
	}
}

func TestAPIErrorsAreProblemDetails(t *testing.T) {
	t.Parallel()
	_, srv := newApp(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	for _, path := range []string{"/api/v1/no-such-thing", "/api/v2/system/status"} {
		res, body := get(t, srv.URL+path)
		if res.StatusCode != 404 {
			t.Errorf("%s = %d", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s content type %q", path, ct)
		}
		var p struct {
			Title  string `json:"title"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Status != 404 || p.Title != "Not Found" || p.Detail == "" {
			t.Errorf("%s problem = %+v (%v)", path, p, err)
		}
	}
	// A wrong method on a typed operation answers in the same shape.
	res, err := http.Post(srv.URL+"/api/v1/system/status", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed && res.StatusCode != http.StatusNotFound {
		t.Errorf("POST status = %d", res.StatusCode)
	}
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	t.Parallel()
	_, srv := newApp(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	res, _ := get(t, srv.URL+"/")
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if len(res.Header.Get("X-Request-ID")) != 16 {
		t.Errorf("X-Request-ID = %q", res.Header.Get("X-Request-ID"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "trace-123")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.Header.Get("X-Request-ID") != "trace-123" {
		t.Errorf("request ID not echoed: %q", r2.Header.Get("X-Request-ID"))
	}
	req.Header.Set("X-Request-ID", "bad id\twith junk")
	r3, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r3.Body.Close()
	if strings.Contains(r3.Header.Get("X-Request-ID"), "junk") {
		t.Errorf("malformed request ID echoed: %q", r3.Header.Get("X-Request-ID"))
	}
}

func TestMetricsExposeHTTPAndQueue(t *testing.T) {
	t.Parallel()
	_, srv := newApp(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	get(t, srv.URL+"/api/v1/system/status")
	res, body := get(t, srv.URL+"/metrics")
	if res.StatusCode != 200 {
		t.Fatalf("metrics = %d", res.StatusCode)
	}
	for _, want := range []string{
		`cspm_http_requests_total{code="200",method="GET",route="GET /api/v1/system/status"} 1`,
		`cspm_queue_up 1`,
		`cspm_queue_jobs{state="available"} 0`,
		`go_sql_open_connections{db_name="orchestration"}`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestAPIReferencePageIsSelfContained(t *testing.T) {
	t.Parallel()
	_, srv := newApp(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	res, body := get(t, srv.URL+"/api/docs")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("docs = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	page := string(body)
	if !strings.Contains(page, "/api/v1/system/status") || !strings.Contains(page, "permission: <code>public</code>") {
		t.Error("docs page does not list the status operation with its permission")
	}
	// Nothing that a browser would fetch: no scripts, stylesheets, images or fonts.
	for _, fetches := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(page, fetches) {
			t.Errorf("docs page contains %q: it must work offline", fetches)
		}
	}
}

// Every route declares a permission, and every operation in the OpenAPI
// document publishes it.
func TestEveryRouteDeclaresAPermission(t *testing.T) {
	t.Parallel()
	a, _ := newApp(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	routes := a.Router.Routes()
	if len(routes) < 5 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, r := range routes {
		if r.Permission == "" {
			t.Errorf("%s %s has no permission", r.Method, r.Pattern)
		}
	}
	ops := 0
	for path, item := range a.Router.OpenAPI().Paths {
		for _, op := range []*struct {
			method string
			ext    map[string]any
			ok     bool
		}{
			{"GET", ext(item.Get), item.Get != nil},
			{"POST", ext(item.Post), item.Post != nil},
			{"PUT", ext(item.Put), item.Put != nil},
			{"PATCH", ext(item.Patch), item.Patch != nil},
			{"DELETE", ext(item.Delete), item.Delete != nil},
		} {
			if !op.ok {
				continue
			}
			ops++
			p, _ := op.ext[httpapi.PermissionExtension].(string)
			if p == "" {
				t.Errorf("%s %s: no %s in the OpenAPI document", op.method, path, httpapi.PermissionExtension)
			}
			if p != string(rbac.Public) && !strings.Contains(p, ":") {
				t.Errorf("%s %s: permission %q is not a name:action", op.method, path, p)
			}
		}
	}
	if ops == 0 {
		t.Fatal("no operations in the OpenAPI document")
	}
}

func TestOpenAPISnapshot(t *testing.T) {
	t.Parallel()
	a, srv := newApp(t, dbtest.Open(t, dbtest.Engine{Name: "sqlite"}))
	res, served := get(t, srv.URL+"/api/v1/openapi.json")
	if res.StatusCode != 200 {
		t.Fatalf("openapi.json = %d", res.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal(served, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi version %v, want 3.1.0", doc["openapi"])
	}
	got, err := json.MarshalIndent(a.Router.OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const path = "../../web/src/api/openapi.json"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'make openapi')", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("web/src/api/openapi.json is stale: run 'make openapi' and commit the result")
	}
}

func ext(op *huma.Operation) map[string]any {
	if op == nil {
		return nil
	}
	return op.Extensions
}
