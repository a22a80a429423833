package auth_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/team"
)

// sessionStores returns every SessionStore implementation on reg: SQL, and
// Redis when CSPM_TEST_REDIS_URL is set (required under CI).
func sessionStores(t *testing.T, reg *db.Registry) map[string]auth.SessionStore {
	stores := map[string]auth.SessionStore{"sql": auth.NewSQLSessionStore(reg)}
	u := os.Getenv("CSPM_TEST_REDIS_URL")
	if u == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but CSPM_TEST_REDIS_URL is not set")
	}
	if u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { rdb.Close() })
		stores["redis"] = auth.NewRedisSessionStore(rdb, "cspmtest:"+id.Token(4)+":", 30*time.Minute)
	}
	return stores
}

// The behaviour suite every SessionStore passes.
func TestSessionStoreConformance(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		tm, err := team.NewStore(reg).TeamCreate(ctx, "t-"+id.Token(4))
		if err != nil {
			t.Fatal(err)
		}
		users := make([]string, 2)
		for i := range users {
			users[i] = id.New()
		}
		for name, st := range sessionStores(t, reg) {
			t.Run(name, func(t *testing.T) {
				// Sessions reference users in SQL; create real ones.
				for i := range users {
					if err := insertUser(ctx, reg, tm.ID, users[i]); err != nil {
						t.Fatal(err)
					}
				}
				now := time.Now().UTC().Truncate(time.Millisecond)
				mk := func(user string, created time.Time) auth.Session {
					return auth.Session{ID: id.New(), TokenHash: id.Token(32), UserID: user, TeamID: tm.ID, CSRFToken: id.Token(8),
						CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(time.Hour), IP: "127.0.0.1", UserAgent: "test"}
				}
				s1, s2, s3 := mk(users[0], now.Add(-2*time.Minute)), mk(users[0], now.Add(-time.Minute)), mk(users[1], now)
				for _, s := range []auth.Session{s1, s2, s3} {
					if err := st.SessionCreate(ctx, s); err != nil {
						t.Fatal(err)
					}
				}
				got, err := st.SessionGetByTokenHash(ctx, s1.TokenHash)
				if err != nil || got.ID != s1.ID || got.TeamID != tm.ID || got.CSRFToken != s1.CSRFToken || got.UserID != users[0] {
					t.Fatalf("get = %+v, %v", got, err)
				}
				if _, err := st.SessionGetByTokenHash(ctx, "nope"); !errors.Is(err, db.ErrNotFound) {
					t.Fatalf("get unknown = %v", err)
				}
				later := now.Add(5 * time.Minute)
				if err := st.SessionTouch(ctx, got, later); err != nil {
					t.Fatal(err)
				}
				if got, _ = st.SessionGetByTokenHash(ctx, s1.TokenHash); !got.LastSeenAt.Equal(later) {
					t.Fatalf("last seen %v after touch at %v", got.LastSeenAt, later)
				}
				list, err := st.SessionListByUser(ctx, tm.ID, users[0])
				if err != nil || len(list) != 2 || list[0].ID != s2.ID {
					t.Fatalf("list = %v %v (want newest first)", list, err)
				}
				if list, _ := st.SessionListByUser(ctx, "other-team", users[0]); len(list) != 0 {
					t.Fatal("another team lists the user's sessions")
				}
				if err := st.SessionDelete(ctx, s2); err != nil {
					t.Fatal(err)
				}
				if err := st.SessionDelete(ctx, s2); !errors.Is(err, db.ErrNotFound) {
					t.Fatalf("second delete = %v", err)
				}
				n, err := st.SessionDeleteByUser(ctx, tm.ID, users[0])
				if err != nil || n != 1 {
					t.Fatalf("delete by user = %d %v", n, err)
				}
				if _, err := st.SessionGetByTokenHash(ctx, s1.TokenHash); !errors.Is(err, db.ErrNotFound) {
					t.Fatal("session survived delete by user")
				}
				if _, err := st.SessionGetByTokenHash(ctx, s3.TokenHash); err != nil {
					t.Fatal("another user's session was deleted")
				}
			})
		}
	})
}

func insertUser(ctx context.Context, reg *db.Registry, teamID, userID string) error {
	return reg.Get(db.Platform).InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO users (id, team_id, email, role, password_hash, password_changed_at, created_at, updated_at)
			VALUES ($1, $2, $3, 'VIEWER', 'x', $4, $4, $4) ON CONFLICT (id) DO NOTHING`, userID, teamID, id.Token(6)+"@example.com", time.Now().UTC())
		return err
	})
}
