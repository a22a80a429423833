package app_test

import (
	"context"
	"testing"

	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// worker_identity_teams names, by team name, who may scan with the
// platform's own identity; any other team is refused.
func TestWorkerIdentityOnlyForNamedTeams(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		security := uniq("security")
		e := newEnv(t, reg, func(c *config.Config) { c.WorkerIdentityTeams = "platform-ops, " + security })
		account := map[string]any{"provider": "aws", "account_uid": "111122223333", "credentials": map[string]any{"type": "worker_identity"}}
		for name, want := range map[string]int{security: 201, uniq("tenant-b"): 422} {
			tm, err := e.app.Teams.TeamCreate(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			admin := e.user(tm.ID, rbac.Admin)
			if status, body := e.login(admin.Email).do("POST", "/api/v1/cloud/accounts", account); status != want {
				t.Errorf("team %s: %d %s, want %d", tm.Name, status, body, want)
			}
		}
	})
}
