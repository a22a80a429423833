package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// 100 parallel wrong guesses, split over two API processes that share the
// store, get at most max_failed_login_attempts hashes: the attempt is
// reserved before the hash, so none slips in between a check and a count.
// Before, 80-150 guesses per lockout got through on every store.
func TestParallelGuessesCannotOutrunTheLockout(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, reg *db.Registry, cfgFn func(*config.Config)) {
		cfg := func(c *config.Config) {
			if cfgFn != nil {
				cfgFn(c)
			}
			c.LoginLockout = time.Minute
			c.PasswordHashConcurrency = 8
		}
		a, b := newEnv(t, reg, cfg), newEnv(t, reg, cfg)
		u := a.user(a.team("acme").ID, rbac.Viewer)
		for _, email := range []string{u.Email, uniq("ghost") + "@example.com"} {
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				statuses = map[int]int{}
			)
			for i := range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					proc := a
					if i%2 == 1 {
						proc = b
					}
					status, _ := proc.anon().do("POST", "/api/v1/auth/login",
						map[string]string{"email": email, "password": fmt.Sprintf("wrong-guess-%d", i)})
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if statuses[401] > auth.MaxFailedLoginAttempts || statuses[401]+statuses[429] != 100 {
				t.Fatalf("%s: 100 parallel guesses answered %v: more than %d were checked", email, statuses, auth.MaxFailedLoginAttempts)
			}
			if status, body := a.anon().do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": testPassword}); status != 429 {
				t.Fatalf("%s: the right password after the flood = %d %s, want 429", email, status, body)
			}
		}
	})
}

// Failures from one source address over many emails lock that address
// without charging the emails it did not get to try, and a success gives
// its attempt back, so a busy office behind one address is not locked by
// its own sign-ins.
func TestFailuresPerSourceAddress(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, reg *db.Registry, cfgFn func(*config.Config)) {
		e := newEnv(t, reg, func(c *config.Config) {
			if cfgFn != nil {
				cfgFn(c)
			}
			c.MaxFailedLoginsPerAddress = 3
		})
		ctx := context.Background()
		tm := e.team("acme")
		victim := e.user(tm.ID, rbac.Viewer)
		// An address of this test's own: tests share one Redis.
		addr := "192.0.2." + id.Token(6)
		login := func(email, password string) error {
			_, err := e.app.Auth.AuthenticateUser(ctx, auth.LoginParams{Email: email, Password: password, IP: addr})
			return err
		}
		// Successes from the address cost nothing.
		for range 5 {
			if err := login(victim.Email, testPassword); err != nil {
				t.Fatalf("sign-in: %v", err)
			}
		}
		for i := range 3 {
			if err := login(uniq("nobody")+"@example.com", "wrong-password"); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		var locked auth.LockedError
		if err := login(victim.Email, testPassword); !errors.As(err, &locked) {
			t.Fatalf("the address after 3 failures: %v, want locked", err)
		}
		// The victim, from elsewhere, is not locked: the refused attempt
		// was given back to the email.
		for range auth.MaxFailedLoginAttempts {
			_, err := e.app.Auth.AuthenticateUser(ctx, auth.LoginParams{Email: victim.Email, Password: testPassword, IP: "198.51.100." + id.Token(6)})
			if err != nil {
				t.Fatalf("the victim from another address: %v", err)
			}
		}
	})
}
