package app_test

import (
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// A NUL character in a body field or the query answers 400, never a 500
// that quotes the database (PostgreSQL's text cannot hold one); the
// anonymous sign-in too.
func TestNULIsABadRequestNotAServerError(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		e := newEnv(t, reg, nil)
		u := e.user(e.team("acme").ID, rbac.Admin)
		status, body := e.anon().do("POST", "/api/v1/auth/login", map[string]string{"email": "ad\u0000min@example.com", "password": "x"})
		want := 401 // SQLite stores any text: the email is simply unknown
		if reg.Get(db.Platform).Dialect == db.Postgres {
			want = 400
		}
		if status != want {
			t.Errorf("sign-in with NUL = %d %s, want %d", status, body, want)
		}
		c := e.login(u.Email)
		if status, body := c.do("GET", "/api/v1/findings?q=a%00b", nil); status != 400 {
			t.Errorf("query with NUL = %d %s", status, body)
		}
	})
}
