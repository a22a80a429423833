// Package dbtest gives each test a migrated db.Registry on every engine:
// SQLite always, PostgreSQL when CSPM_TEST_POSTGRES_URL is set. With CI=true
// a missing URL fails the test instead of skipping PostgreSQL, so a CI run can
// never pass on SQLite alone.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/queue"
)

// Engine is one database engine to run a test on.
type Engine struct {
	Name string // "sqlite" or "postgres"
	URL  string // PostgreSQL URL; empty for SQLite
	// adminURL, when set, is the URL that drops the test's schemas (see AsOwner).
	adminURL string
}

// PostgresURL returns the test PostgreSQL URL, failing the test under CI when it is missing.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CSPM_TEST_POSTGRES_URL")
	if u == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but CSPM_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")
	}
	return u
}

// Engines lists the engines this run tests against.
func Engines(t testing.TB) []Engine {
	t.Helper()
	out := []Engine{{Name: "sqlite"}}
	if u := PostgresURL(t); u != "" {
		out = append(out, Engine{Name: "postgres", URL: u})
	}
	return out
}

// Each runs fn as a parallel subtest on every engine with a fresh, migrated registry.
func Each(t *testing.T, fn func(t *testing.T, reg *db.Registry)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, e))
		})
	}
}

// Open returns a migrated registry on engine e, removed when the test ends.
func Open(t testing.TB, e Engine) *db.Registry {
	t.Helper()
	// Every test that opens a registry checks the rule against nested
	// write transactions across logical databases.
	db.CheckNesting(true)
	reg, _ := OpenUnmigrated(t, e)
	ctx := context.Background()
	if _, err := reg.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := queue.Migrate(ctx, reg, nil); err != nil {
		t.Fatalf("migrate river: %v", err)
	}
	return reg
}

// OpenUnmigrated returns an empty registry on engine e and, on PostgreSQL,
// the schema prefix it uses. Its SQLite files or PostgreSQL schemas are
// removed when the test ends.
func OpenUnmigrated(t testing.TB, e Engine) (*db.Registry, string) {
	t.Helper()
	ctx := context.Background()
	opts := db.Options{DataDir: t.TempDir(), URLs: map[db.Name]string{}}
	if e.URL != "" {
		opts.SchemaPrefix = RandomPrefix()
		opts.MaxConns = 4
		for _, n := range db.Names {
			opts.URLs[n] = e.URL
		}
	}
	reg, err := db.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open %s: %v", e.Name, err)
	}
	t.Cleanup(func() {
		_ = reg.Close()
		if e.URL != "" {
			admin := e.URL
			if e.adminURL != "" {
				admin = e.adminURL
			}
			DropSchemas(t, admin, opts.SchemaPrefix)
		}
	})
	return reg, opts.SchemaPrefix
}

// RandomPrefix returns a fresh schema prefix such as "t3f9a1c_".
func RandomPrefix() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b) + "_"
}

// DropSchemas removes every schema a test created under prefix.
func DropSchemas(t testing.TB, url, prefix string) {
	t.Helper()
	conn, err := sql.Open("pgx", url)
	if err != nil {
		t.Errorf("drop schemas: %v", err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range db.Names {
		if _, err := conn.ExecContext(ctx, `DROP SCHEMA IF EXISTS "`+prefix+string(n)+`" CASCADE`); err != nil {
			t.Errorf("drop schema %s%s: %v", prefix, n, err)
		}
	}
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver

// OwnerRole is the ordinary role (no superuser, no BYPASSRLS) that
// AsOwner logs in as: the way docs/security.md says to run cspm, under
// which row-level security applies to the schemas' owner too.
const OwnerRole = "cspm_owner_probe"

// AsOwner returns e logging in as OwnerRole, which it creates if needed
// and lets create schemas; SQLite is returned as it is. The schemas a test
// creates are dropped with e's own (superuser) URL.
func AsOwner(t testing.TB, e Engine) Engine {
	t.Helper()
	if e.URL == "" {
		return e
	}
	conn, err := sql.Open("pgx", e.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	// Tests of every package do this at once, and PostgreSQL fails
	// concurrent changes of one role or grant ("tuple concurrently
	// updated"): one at a time, under a transaction-scoped advisory lock.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	var dbName string
	for _, stmt := range []string{
		"SELECT pg_advisory_xact_lock(hashtext('" + OwnerRole + "'))",
		`DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + OwnerRole + `') THEN CREATE ROLE ` + OwnerRole + ` LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
		END $$`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.QueryRowContext(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `GRANT CREATE ON DATABASE "`+dbName+`" TO `+OwnerRole); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(OwnerRole)
	return Engine{Name: e.Name, URL: u.String(), adminURL: e.URL}
}
