package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations live in migrations/<logical database>/<dialect>/NNNN_description.sql.
// Numbers are per logical database and never reused; each file runs in one
// transaction together with the row that records it.
//
//go:embed migrations
var migrationFS embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// MigrationState is a migration and whether it has been applied.
type MigrationState struct {
	Migration
	AppliedAt *time.Time
}

// Migrations returns the embedded migrations of one logical database and dialect, in order.
func Migrations(name Name, dialect Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(name), string(dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_description.sql", dir, e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migration %s: %s and %s share version %d", dir, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sqlText := string(body)
		if dialect == Postgres {
			sqlText = expandTeamIsolation(sqlText)
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: sqlText})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// teamIsolationDirective, alone on a line of a PostgreSQL migration, names
// tenant-scoped tables: "-- cspm:team-isolation users, sessions". Each gets
// row-level security with the one policy the platform uses, defined here
// once: a row is visible when its team_id is the transaction's cspm.team_id
// (db.InTeam) or the transaction runs as cspm.scope 'system' (db.AsSystem).
// A query with neither setting sees nothing.
const teamIsolationDirective = "-- cspm:team-isolation "

const teamIsolationPolicy = `ALTER TABLE %[1]s ENABLE ROW LEVEL SECURITY;
ALTER TABLE %[1]s FORCE ROW LEVEL SECURITY;
CREATE POLICY team_isolation ON %[1]s
    USING (team_id = current_setting('cspm.team_id', true) OR current_setting('cspm.scope', true) = 'system')
    WITH CHECK (team_id = current_setting('cspm.team_id', true) OR current_setting('cspm.scope', true) = 'system');
`

func expandTeamIsolation(sqlText string) string {
	lines := strings.Split(sqlText, "\n")
	for i, line := range lines {
		tables, ok := strings.CutPrefix(strings.TrimSpace(line), teamIsolationDirective)
		if !ok {
			continue
		}
		var b strings.Builder
		for _, t := range strings.Split(tables, ",") {
			fmt.Fprintf(&b, teamIsolationPolicy, quoteIdent(strings.TrimSpace(t)))
		}
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL
)`

// ErrSchemaTooNew means the database was migrated by a newer cspm.
var ErrSchemaTooNew = errors.New("database schema is newer than this cspm")

// Migrate applies every pending migration of every logical database. It is
// safe to run from several processes at once: each database is migrated under
// WithLock, and a migration another process applied meanwhile is skipped.
func (r *Registry) Migrate(ctx context.Context) (applied int, err error) {
	for _, name := range Names {
		n, err := r.dbs[name].migrate(ctx)
		applied += n
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return applied, nil
}

func (d *DB) migrate(ctx context.Context) (applied int, err error) {
	err = d.WithLock(ctx, "migrate", func() error {
		if applied, err = d.migrateLocked(ctx); err != nil {
			return err
		}
		return d.prepareTenantRole(ctx)
	})
	return applied, err
}

// MigrateTo applies this database's migrations up to and including
// version, and no further: the schema an older release left, for upgrade
// tests that store data the way that release did and then migrate the rest.
func (d *DB) MigrateTo(ctx context.Context, version int) (applied int, err error) {
	err = d.WithLock(ctx, "migrate", func() error {
		if applied, err = d.migrateLockedTo(ctx, version); err != nil {
			return err
		}
		return d.prepareTenantRole(ctx)
	})
	return applied, err
}

func (d *DB) migrateLocked(ctx context.Context) (int, error) {
	return d.migrateLockedTo(ctx, int(^uint(0)>>1))
}

func (d *DB) migrateLockedTo(ctx context.Context, version int) (int, error) {
	migrations, err := Migrations(d.Name, d.Dialect)
	if err != nil {
		return 0, err
	}
	if _, err := d.ExecContext(ctx, createMigrationsTable); err != nil {
		return 0, err
	}
	states, err := d.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	if len(states) > len(migrations) { // applied rows the binary does not know
		last := states[len(states)-1]
		return 0, fmt.Errorf("%w: it is at migration %d (%s) but this binary knows only %d; upgrade cspm",
			ErrSchemaTooNew, last.Version, last.Name, len(migrations))
	}
	applied := 0
	for _, m := range migrations {
		if m.Version > version {
			break
		}
		ok, err := d.applyOne(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if ok {
			applied++
		}
	}
	return applied, nil
}

func (d *DB) applyOne(ctx context.Context, m Migration) (applied bool, err error) {
	// A migration moves every team's rows: run as an ordinary role that
	// owns the schemas (docs/security.md), row-level security applies to
	// the owner too, and outside the system scope its statements would see
	// no rows at all.
	err = d.AsSystem(ctx, func(q Querier) error {
		var exists int
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.Version).Scan(&exists); err != nil || exists > 0 {
			return err
		}
		if _, err := q.ExecContext(ctx, m.SQL); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			m.Version, m.Name, time.Now().UTC()); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied && err == nil, err
}

// MigrationStatus lists every migration this binary knows, plus any applied
// one it does not, with the time it was applied.
func (d *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	migrations, err := Migrations(d.Name, d.Dialect)
	if err != nil {
		return nil, err
	}
	applied := map[int]time.Time{}
	names := map[int]string{}
	rows, err := d.QueryContext(ctx, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
	if err != nil && !isMissingTable(err) {
		return nil, err
	}
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var (
				v  int
				n  string
				at time.Time
			)
			if err := rows.Scan(&v, &n, &at); err != nil {
				return nil, err
			}
			applied[v], names[v] = at, n
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var out []MigrationState
	for _, m := range migrations {
		s := MigrationState{Migration: m}
		if at, ok := applied[m.Version]; ok {
			s.AppliedAt = &at
			delete(applied, m.Version)
		}
		out = append(out, s)
	}
	for v, at := range applied {
		at := at
		out = append(out, MigrationState{Migration: Migration{Version: v, Name: names[v]}, AppliedAt: &at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Version is the highest applied migration, 0 for none.
func (d *DB) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := d.Reader().QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v)
	if err != nil {
		if isMissingTable(err) {
			return 0, nil
		}
		return 0, err
	}
	return int(v.Int64), nil
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist")
}
