package app_test

import (
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// A one-time password (an admin's generated one, or a reset) opens only
// the user's own account routes until it is replaced, and mints no API
// token; replacing it opens the rest; a reset makes it one-time again.
func TestOneTimePasswordMustBeChanged(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, reg *db.Registry, cfgFn func(*config.Config)) {
		e := newEnv(t, reg, cfgFn)
		tm := e.team("acme")
		adminC := e.login(e.user(tm.ID, rbac.Admin).Email)
		email := uniq("ana") + "@example.com"
		status, body := adminC.do("POST", "/api/v1/users", map[string]string{"email": email, "role": "SECURITY_ANALYST"})
		created := decode[struct {
			User            auth.User `json:"user"`
			OneTimePassword string    `json:"one_time_password"`
		}](t, body)
		if status != 201 || created.OneTimePassword == "" {
			t.Fatalf("create user = %d %s", status, body)
		}
		required := func(c *client) bool {
			t.Helper()
			status, body := c.do("GET", "/api/v1/auth/me", nil)
			if status != 200 {
				t.Fatalf("me = %d %s", status, body)
			}
			return decode[auth.Me](t, body).PasswordChangeRequired
		}

		c := e.loginWith(email, created.OneTimePassword)
		if !required(c) {
			t.Fatal("a one-time password is not marked as one")
		}
		if status, body := c.do("GET", "/api/v1/findings", nil); status != 403 || !strings.Contains(string(body), "one-time password") {
			t.Fatalf("findings with a one-time password = %d %s", status, body)
		}
		if status, body := c.do("POST", "/api/v1/auth/tokens", map[string]any{"name": "ci", "expires_in_days": 30}); status != 403 {
			t.Fatalf("a token from a one-time password = %d %s", status, body)
		}
		const next = "juniper-gravel-lantern"
		if status, body := c.do("POST", "/api/v1/auth/password", map[string]string{"current_password": created.OneTimePassword,
			"new_password": next}); status != 204 {
			t.Fatalf("change password = %d %s", status, body)
		}
		c = e.loginWith(email, next)
		if required(c) {
			t.Fatal("still one-time after the change")
		}
		if status, body := c.do("GET", "/api/v1/findings", nil); status != 200 {
			t.Fatalf("findings after the change = %d %s", status, body)
		}

		status, body = adminC.do("POST", "/api/v1/users/"+created.User.ID+"/reset-password", nil)
		reset := decode[struct {
			OneTimePassword string `json:"one_time_password"`
		}](t, body)
		if status != 200 || reset.OneTimePassword == "" {
			t.Fatalf("reset = %d %s", status, body)
		}
		if c := e.loginWith(email, reset.OneTimePassword); !required(c) {
			t.Fatal("a reset password is not one-time")
		}
	})
}
