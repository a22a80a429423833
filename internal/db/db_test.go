package db_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/queue"
)

func TestMigrateFreshAndIdempotent(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg, _ := dbtest.OpenUnmigrated(t, e)

			want := 0
			for _, n := range db.Names {
				ms, err := db.Migrations(n, reg.Get(n).Dialect)
				if err != nil {
					t.Fatal(err)
				}
				want += len(ms)
			}
			if want == 0 {
				t.Fatal("no migrations embedded")
			}
			applied, err := reg.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if applied != want {
				t.Fatalf("first migrate applied %d, want %d", applied, want)
			}
			again, err := reg.Migrate(ctx)
			if err != nil || again != 0 {
				t.Fatalf("second migrate applied %d (err %v), want 0", again, err)
			}
			for _, n := range db.Names {
				states, err := reg.Get(n).MigrationStatus(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range states {
					if s.AppliedAt == nil {
						t.Errorf("%s migration %d not applied", n, s.Version)
					}
				}
			}
			if reg.Engine() != e.Name {
				t.Errorf("Engine() = %q, want %q", reg.Engine(), e.Name)
			}
		})
	}
}

// Several processes start at once against one database: each migration must
// be applied exactly once and nobody may fail.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			first, prefix := dbtest.OpenUnmigrated(t, e)
			regs := []*db.Registry{first}
			for i := 0; i < 3; i++ {
				opts := db.Options{DataDir: first.Get(db.Platform).Location(), URLs: map[db.Name]string{}, SchemaPrefix: prefix}
				if e.URL != "" {
					for _, n := range db.Names {
						opts.URLs[n] = e.URL
					}
				} else {
					opts.DataDir = dirOf(first.Get(db.Platform).Location())
				}
				r, err := db.Open(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				regs = append(regs, r)
			}
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				total int
				errs  []error
			)
			for _, r := range regs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := r.Migrate(ctx)
					if err == nil {
						_, err = queue.Migrate(ctx, r, nil)
					}
					mu.Lock()
					total += n
					errs = append(errs, err)
					mu.Unlock()
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, n := range db.Names {
				ms, _ := db.Migrations(n, first.Get(n).Dialect)
				want += len(ms)
			}
			if total != want {
				t.Fatalf("migrations applied %d times in all, want exactly %d", total, want)
			}
			v, err := queue.Version(ctx, first)
			if err != nil || v == 0 {
				t.Fatalf("river version %d, err %v", v, err)
			}
		})
	}
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return "."
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		d := reg.Get(db.Platform)
		if _, err := d.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			9999, "from_the_future", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		_, err := reg.Migrate(ctx)
		if !errors.Is(err, db.ErrSchemaTooNew) {
			t.Fatalf("Migrate = %v, want ErrSchemaTooNew", err)
		}
	})
}

func TestSQLiteReaderIsQueryOnly(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	_, err := reg.Get(db.Platform).Reader().Exec("INSERT INTO teams (id, name, created_at) VALUES ('a', 'a', '2026-01-01')")
	if err == nil {
		t.Fatal("write through the reader pool succeeded; it must be query-only")
	}
}

func TestOpenUnwritableDataDir(t *testing.T) {
	t.Parallel()
	file := t.TempDir() + "/plain-file"
	if err := writeFile(file); err != nil {
		t.Fatal(err)
	}
	_, err := db.Open(context.Background(), db.Options{DataDir: file + "/data"})
	if err == nil {
		t.Fatal("Open succeeded under a regular file")
	}
	if got := err.Error(); got != "data directory "+file+"/data cannot be created: not a directory" {
		t.Fatalf("error = %q", got)
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := db.Open(ctx, db.Options{URLs: map[db.Name]string{db.Platform: "postgres://cspm:s3cret@127.0.0.1:1/cspm?sslmode=disable"}, DataDir: t.TempDir()})
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	msg := err.Error()
	if want := "cannot connect to PostgreSQL at 127.0.0.1:1/cspm (database cspm_platform): connection refused"; msg != want {
		t.Fatalf("error = %q, want %q", msg, want)
	}
}

func writeFile(path string) error { return os.WriteFile(path, []byte("x"), 0o600) }

// Audit evidence and credentials live in these files: owner-only.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	reg := dbtest.Open(t, dbtest.Engine{Name: "sqlite"})
	for _, n := range db.Names {
		path := reg.Get(n).Location()
		for _, p := range []string{path, path + "-wal"} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if mode := st.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s has mode %o, want 600", p, mode)
			}
		}
	}
}

// One logical database may live elsewhere than the rest.
func TestMixedEngines(t *testing.T) {
	t.Parallel()
	u := dbtest.PostgresURL(t)
	if u == "" {
		t.Skip("CSPM_TEST_POSTGRES_URL not set")
	}
	prefix := dbtest.RandomPrefix()
	t.Cleanup(func() { dbtest.DropSchemas(t, u, prefix) })
	reg, err := db.Open(context.Background(), db.Options{
		DataDir: t.TempDir(), SchemaPrefix: prefix,
		URLs: map[db.Name]string{db.Vulnerability: u},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if reg.Engine() != "mixed" || reg.Get(db.Vulnerability).Dialect != db.Postgres || reg.Get(db.Platform).Dialect != db.SQLite {
		t.Fatalf("engine %s, vulnerability %s, platform %s", reg.Engine(), reg.Get(db.Vulnerability).Dialect, reg.Get(db.Platform).Dialect)
	}
}

// Every PostgreSQL table with a team_id column has row-level security,
// forced, with the platform's policy: a new tenant table cannot forget it.
func TestEveryTenantTableHasRowLevelSecurity(t *testing.T) {
	t.Parallel()
	u := dbtest.PostgresURL(t)
	if u == "" {
		t.Skip("CSPM_TEST_POSTGRES_URL not set")
	}
	reg := dbtest.Open(t, dbtest.Engine{Name: "postgres", URL: u})
	d := reg.Get(db.Platform)
	rows, err := d.QueryContext(context.Background(), `SELECT c.table_schema || '.' || c.table_name, cl.relrowsecurity, cl.relforcerowsecurity,
		EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = c.table_schema AND p.tablename = c.table_name AND p.policyname = 'team_isolation')
		FROM information_schema.columns c
		JOIN pg_namespace n ON n.nspname = c.table_schema
		JOIN pg_class cl ON cl.relnamespace = n.oid AND cl.relname = c.table_name
		WHERE c.column_name = 'team_id' AND c.table_schema LIKE $1`, strings.TrimSuffix(d.Schema, string(db.Platform))+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			table                  string
			rls, forced, hasPolicy bool
		)
		if err := rows.Scan(&table, &rls, &forced, &hasPolicy); err != nil {
			t.Fatal(err)
		}
		n++
		if !rls || !forced || !hasPolicy {
			t.Errorf("%s: row security %v, forced %v, team_isolation policy %v", table, rls, forced, hasPolicy)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d tenant tables found", n)
	}
}

func TestPositional(t *testing.T) {
	for in, want := range map[string]string{
		"INSERT INTO t VALUES ($1,$2),($3,$4)": "INSERT INTO t VALUES (?,?),(?,?)",
		"SELECT '$' || x FROM t WHERE a = $12": "SELECT '$' || x FROM t WHERE a = ?",
		"no parameters":                        "no parameters",
	} {
		if got := db.Positional(db.SQLite, in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
		if got := db.Positional(db.Postgres, in); got != in {
			t.Errorf("postgres %q changed to %q", in, got)
		}
	}
}

// A team filter written with NotIndexed beside a batch of primary keys
// looks the keys up on SQLite instead of walking the team's rows through
// an index on team_id (the plan SQLite picks without statistics for a long
// list), and the same statement runs on PostgreSQL.
func TestNotIndexedTeamFilterUsesPrimaryKey(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		d := reg.Get(db.NativeScans)
		args := []any{"t1"}
		for i := range 500 {
			args = append(args, i)
		}
		keys := " = $1 AND finding_id IN (" + db.InList(500, 2) + ")"
		stmt := func(team string) string {
			return db.Positional(d.Dialect, "UPDATE finding_seen SET last_scan_id = 's' WHERE "+team+keys)
		}
		if err := d.InTeam(ctx, "t1", func(q db.Querier) error {
			_, err := q.ExecContext(ctx, stmt(db.NotIndexed(d.Dialect, "team_id")), args...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if d.Dialect != db.SQLite {
			return
		}
		plan := func(query string) string {
			var all []string
			rows, err := d.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				all = append(all, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return strings.Join(all, "; ")
		}
		if got := plan(stmt(db.NotIndexed(d.Dialect, "team_id"))); !strings.Contains(got, "PRIMARY KEY") {
			t.Errorf("with NotIndexed: %s", got)
		}
		if got := plan(stmt("team_id")); strings.Contains(got, "PRIMARY KEY") {
			t.Logf("SQLite now picks the primary key on its own (%s): NotIndexed may no longer be needed", got)
		}
	})
}

// QueryStrings reads a query's first column as text, in the query's order,
// and passes a statement's error on.
func TestQueryStrings(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		d := reg.Get(db.Platform)
		got, err := db.QueryStrings(ctx, d, "SELECT name FROM schema_migrations WHERE version <= $1 ORDER BY version DESC", 2)
		if err != nil || len(got) != 2 || got[0] == "" || got[0] == got[1] {
			t.Fatalf("QueryStrings = %q, %v", got, err)
		}
		if _, err := db.QueryStrings(ctx, d, "SELECT name FROM no_such_table"); err == nil {
			t.Fatal("a failing statement returned no error")
		}
	})
}

func TestPlaceholders(t *testing.T) {
	if got := db.Placeholders(2, 3, 4); got != "($4,$5,$6),($7,$8,$9)" {
		t.Errorf("Placeholders(2, 3, 4) = %q", got)
	}
	if got := db.InList(3, 9); got != "$9,$10,$11" {
		t.Errorf("InList(3, 9) = %q", got)
	}
	if got := db.Placeholders(0, 3, 1); got != "" {
		t.Errorf("Placeholders(0, 3, 1) = %q", got)
	}
}
