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
			DropSchemas(t, e.URL, opts.SchemaPrefix)
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
