package app_test

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

// testPassword passes the policy; every test user has it unless it says otherwise.
const testPassword = "tangerine-otter-basalt"

// env is one API process under test.
type env struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
}

// newEnv builds an App on reg, with cfgFn adjusting the configuration.
func newEnv(t *testing.T, reg *db.Registry, cfgFn func(*config.Config)) *env {
	t.Helper()
	return buildEnv(t, reg, cfgFn, false)
}

// newEnvWithWorkers is newEnv with River workers running, for job tests.
func newEnvWithWorkers(t *testing.T, reg *db.Registry, cfgFn func(*config.Config)) *env {
	t.Helper()
	return buildEnv(t, reg, cfgFn, true)
}

func buildEnv(t *testing.T, reg *db.Registry, cfgFn func(*config.Config), workers bool) *env {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.CookieSecure = false // httptest serves plain HTTP
	cfg.PasswordHashConcurrency = 0
	cfg.KEVURL = "" // tests never reach the internet; a test sets a local server
	// Every test client signs in from 127.0.0.1, and tests share one Redis:
	// the per-address limit would couple unrelated tests. The tests of that
	// limit set it, and sign in from addresses of their own.
	cfg.MaxFailedLoginsPerAddress = 0
	if cfgFn != nil {
		cfgFn(cfg)
	}
	// Errors reach the test's log (shown when it fails); the rest is noise.
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(context.Background(), cfg, logger, reg, workers)
	if err != nil {
		t.Fatal(err)
	}
	if workers {
		if err := a.Queue.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = a.Queue.Stop(ctx)
		})
	}
	srv := httptest.NewServer(a.Router.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, app: a, srv: srv}
}

// uniq makes names that do not collide with parallel tests sharing Redis or PostgreSQL.
func uniq(s string) string { return s + "-" + id.Token(4) }

func (e *env) team(name string) team.Team {
	e.t.Helper()
	tm, err := e.app.Teams.TeamCreate(context.Background(), uniq(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return tm
}

// testHash is testPassword hashed once for the whole test binary: a real
// 600,000-iteration hash, but not one per user (each costs a second under -race).
var testHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

func (e *env) user(teamID string, role rbac.Role) auth.User {
	e.t.Helper()
	u, err := e.app.Auth.UserImport(context.Background(), teamID, uniq(strings.ToLower(string(role)))+"@example.com", role, testHash())
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client is a browser (cookies and CSRF) or a script (bearer token).
type client struct {
	t      *testing.T
	base   string
	http   *http.Client
	csrf   string
	bearer string
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.srv.URL, http: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// login signs in as email with testPassword and fails the test otherwise.
func (e *env) login(email string) *client {
	e.t.Helper()
	return e.loginWith(email, testPassword)
}

// loginWith signs in as email with password and fails the test otherwise.
func (e *env) loginWith(email, password string) *client {
	e.t.Helper()
	c := e.anon()
	status, body := c.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	if status != 200 {
		e.t.Fatalf("login %s = %d %s", email, status, body)
	}
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	_ = json.Unmarshal(body, &out)
	c.csrf = out.CSRFToken
	return c
}

// tokenClient signs in as email and returns a client that uses a fresh API token.
func (e *env) tokenClient(email string) *client {
	e.t.Helper()
	return e.tokenClientFrom(e.login(email))
}

// tokenClientFrom makes a fresh API token with the signed-in client c and
// returns a client that uses it.
func (e *env) tokenClientFrom(c *client) *client {
	e.t.Helper()
	status, body := c.do("POST", "/api/v1/auth/tokens", map[string]any{"name": "test", "expires_in_days": 1})
	if status != 201 {
		e.t.Fatalf("create token = %d %s", status, body)
	}
	var out struct {
		Secret string `json:"secret"`
	}
	_ = json.Unmarshal(body, &out)
	t := e.anon()
	t.bearer = out.Secret
	return t
}

func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	status, b, _ := c.doH(method, path, body, nil)
	return status, b
}

func (c *client) doH(method, path string, body any, hdr map[string]string) (int, []byte, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("CSPM_TEST_REDIS_URL")
	if u == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but CSPM_TEST_REDIS_URL is not set")
	}
	return u
}

func auditParams(teamID string) audit.ListParams { return audit.ListParams{TeamID: teamID, Limit: 500} }

// legacyHash makes a hash the way the older system did: 100,000 iterations.
func legacyHash(t *testing.T, password string) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, password, []byte("oldsalt0123"), auth.PBKDF2LegacyIterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	return "pbkdf2_sha256$100000$oldsalt0123$" + base64.StdEncoding.EncodeToString(key)
}

// upload posts a report as multipart form data.
func (c *client) upload(path, filename string, data []byte) (int, []byte) {
	c.t.Helper()
	return c.postForm(path, nil, filename, data)
}

// postForm sends a multipart form with fields and, when name is set, a file.
func (c *client) postForm(path string, fields map[string]string, name string, data []byte) (int, []byte) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if name != "" {
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.csrf != "" {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// testLogWriter sends log lines to the test's log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
