package app_test

import (
	"testing"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// An API token ends with the password it was made under: the owner's
// password change, an admin's reset and "sign out everywhere" revoke it. A
// token cannot mint another, and the team bounds how long a new one lives.
func TestAPITokensEndWithThePasswordAndTheTeamsLimit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, reg *db.Registry, cfgFn func(*config.Config)) {
		e := newEnv(t, reg, cfgFn)
		tm := e.team("acme")
		admin := e.user(tm.ID, rbac.Admin)
		u := e.user(tm.ID, rbac.SecurityAnalyst)
		adminC := e.login(admin.Email)
		alive := func(what string, c *client, want int) {
			t.Helper()
			if status, _ := c.do("GET", "/api/v1/auth/me", nil); status != want {
				t.Fatalf("%s: token answered %d, want %d", what, status, want)
			}
		}

		bot := e.tokenClient(u.Email)
		alive("new token", bot, 200)
		if status, body := bot.do("POST", "/api/v1/auth/tokens", map[string]any{"name": "child", "expires_in_days": 1}); status != 403 {
			t.Fatalf("a token minted a token: %d %s", status, body)
		}

		owner := e.login(u.Email)
		const next = "marmalade-heron-quartz"
		if status, body := owner.do("POST", "/api/v1/auth/password", map[string]string{"current_password": testPassword, "new_password": next}); status != 204 {
			t.Fatalf("change password = %d %s", status, body)
		}
		alive("after the owner's password change", bot, 401)

		owner = e.loginWith(u.Email, next)
		bot = e.tokenClientFrom(owner)
		alive("second token", bot, 200)
		if status, body := adminC.do("POST", "/api/v1/users/"+u.ID+"/reset-password", nil); status != 200 {
			t.Fatalf("reset = %d %s", status, body)
		}
		alive("after an admin's reset", bot, 401)

		// Sign out everywhere, by an admin.
		v := e.user(tm.ID, rbac.Viewer)
		bot = e.tokenClient(v.Email)
		if status, body := adminC.do("DELETE", "/api/v1/users/"+v.ID+"/sessions", nil); status != 200 {
			t.Fatalf("sign out everywhere = %d %s", status, body)
		}
		alive("after sign out everywhere", bot, 401)

		// The team's limit, 90 days unless ADMIN changes it.
		c := e.login(v.Email)
		for _, tc := range []struct {
			days, want int
		}{{91, 422}, {90, 201}} {
			if status, body := c.do("POST", "/api/v1/auth/tokens", map[string]any{"name": "ci", "expires_in_days": tc.days}); status != tc.want {
				t.Fatalf("%d-day token under the default limit = %d %s, want %d", tc.days, status, body, tc.want)
			}
		}
		if status, body := adminC.do("PATCH", "/api/v1/team", map[string]any{"max_token_days": 7}); status != 200 {
			t.Fatalf("set limit = %d %s", status, body)
		}
		if status, _ := adminC.do("PATCH", "/api/v1/team", map[string]any{"max_token_days": 400}); status != 422 {
			t.Fatalf("a 400-day limit = %d, want 422", status)
		}
		if status, _ := c.do("PATCH", "/api/v1/team", map[string]any{"max_token_days": 366}); status != 403 {
			t.Fatalf("a viewer changed the limit: %d", status)
		}
		for _, tc := range []struct {
			days, want int
		}{{8, 422}, {7, 201}} {
			if status, body := c.do("POST", "/api/v1/auth/tokens", map[string]any{"name": "ci", "expires_in_days": tc.days}); status != tc.want {
				t.Fatalf("%d-day token under a 7-day limit = %d %s, want %d", tc.days, status, body, tc.want)
			}
		}
	})
}
