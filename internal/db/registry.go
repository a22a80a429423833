// Package db is the seed's DatabaseRegistry: it maps each logical database to
// a connection on embedded SQLite (the default) or PostgreSQL (one schema per
// logical database), and owns the numbered, per-dialect migrations.
//
// Stores write SQL once with $1-style placeholders, which both engines accept,
// and switch on DB.Dialect only where one engine does a thing much better.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Dialect is the SQL engine behind a logical database.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is one logical database.
type DB struct {
	// DB is the pool for writes and transactions. On SQLite it holds a single
	// connection, because SQLite has one writer at a time and a queue of
	// connections waiting on its lock only adds latency. Never use the pool
	// while holding one of its transactions: on SQLite that deadlocks.
	*sql.DB
	Name    Name
	Dialect Dialect
	// Schema is the PostgreSQL schema the pool's search_path points at; empty on SQLite.
	Schema string

	read     *sql.DB
	location string
	// tenantRole, when set, is the role team-scoped transactions switch to
	// (see prepareTenantRole).
	tenantRole string
}

// Reader returns a pool for read-only queries that may run concurrently with
// writes. On PostgreSQL it is the same pool; on SQLite it is a separate pool of
// query-only connections, which WAL mode lets read while the writer writes.
func (d *DB) Reader() *sql.DB {
	if d.read != nil {
		return d.read
	}
	return d.DB
}

// Location describes where the database lives, without credentials.
func (d *DB) Location() string { return d.location }

// Options says where each logical database lives.
type Options struct {
	// DataDir holds the SQLite files of databases without a URL.
	DataDir string
	// URLs maps a logical database to a postgres:// URL; missing or empty means SQLite.
	URLs map[Name]string
	// SchemaPrefix is prepended to every PostgreSQL schema name. Tests use it to
	// give each test its own set of schemas; operators can use it to run two
	// installs in one PostgreSQL database.
	SchemaPrefix string
	// MaxConns bounds each PostgreSQL pool; 0 means 8.
	MaxConns int
}

// Registry holds the open logical databases.
type Registry struct {
	dbs map[Name]*DB
}

// Open connects to every logical database, creating SQLite files and
// PostgreSQL schemas as needed. It does not migrate.
func Open(ctx context.Context, opts Options) (*Registry, error) {
	r := &Registry{dbs: map[Name]*DB{}}
	for _, name := range Names {
		var (
			d   *DB
			err error
		)
		if u := opts.URLs[name]; u != "" {
			d, err = openPostgres(ctx, name, u, opts)
		} else {
			d, err = openSQLite(ctx, name, opts.DataDir)
		}
		if err != nil {
			r.Close()
			return nil, err
		}
		r.dbs[name] = d
	}
	return r, nil
}

// Get returns a logical database. It panics on a name that is not one, which
// is a programming error caught by any test that touches the caller.
func (r *Registry) Get(name Name) *DB {
	d, ok := r.dbs[name]
	if !ok {
		panic(fmt.Sprintf("db: unknown logical database %q", name))
	}
	return d
}

// Engine names the engine of all databases, or "mixed" when they differ.
func (r *Registry) Engine() string {
	engine := ""
	for _, name := range Names {
		d := string(r.dbs[name].Dialect)
		if engine == "" {
			engine = d
		} else if engine != d {
			return "mixed"
		}
	}
	return engine
}

// Ping checks every database, returning the first failure by name.
func (r *Registry) Ping(ctx context.Context) map[Name]error {
	out := map[Name]error{}
	for _, name := range Names {
		out[name] = r.dbs[name].PingContext(ctx)
	}
	return out
}

// Close closes every pool.
func (r *Registry) Close() error {
	var errs []error
	for _, d := range r.dbs {
		if d == nil {
			continue
		}
		if d.read != nil {
			errs = append(errs, d.read.Close())
		}
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable across application crashes in WAL mode and loses at
	// most the last transactions on power loss, the usual trade for a server.
	q.Add("_pragma", "synchronous(NORMAL)")
	// SQLite's default page cache is 2 MB; an import's indexes outgrow it
	// within 20,000 findings and every insert then reads pages back. The
	// writer gets 64 MiB, each reader 16 MiB (negative: KiB, not pages).
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-16384)")
	} else {
		q.Add("_pragma", "cache_size(-65536)")
		// A multi-row INSERT keeps the pages it changes in a statement
		// journal (to undo itself alone on a constraint error), which goes
		// to a temporary file past 64 KiB: 29,000 writes of 4 KiB in an
		// import of 100,000 findings, a sixth of its writes. In memory it
		// holds one statement's pages at most; the temporary tables and
		// indexes the writer's queries build live there too (the largest:
		// the IDs an import reported, when it searches for missing ones).
		q.Add("_pragma", "temp_store(MEMORY)")
		// Take the write lock at BEGIN, so that two transactions never both
		// read and then fail to upgrade to a write lock (SQLITE_BUSY).
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, name Name, dataDir string) (*DB, error) {
	if err := ensureWritableDir(dataDir); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, string(name)+".db")
	// Create the file owner-only before SQLite does (it would use 0644);
	// SQLite gives the -wal and -shm files the database file's mode.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, unwrapPathError(err))
	}
	f.Close()
	w, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	rd, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	rd.SetMaxOpenConns(8)
	return &DB{DB: w, read: rd, Name: name, Dialect: SQLite, location: path}, nil
}

// ensureWritableDir creates dir and proves a file can be written in it, so
// that a bad data directory is reported at start, by name, and not as an
// obscure SQLite error at the first write.
func ensureWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s cannot be created: %w", dir, unwrapPathError(err))
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, unwrapPathError(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func openPostgres(ctx context.Context, name Name, rawURL string, opts Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// pgx's message can quote the URL; keep only its reason.
		return nil, fmt.Errorf("database URL for %s is not valid: %s", name, pgErrReason(err))
	}
	if !strings.Contains(rawURL, "connect_timeout") {
		cfg.ConnectTimeout = 5 * time.Second
	}
	schema := opts.SchemaPrefix + string(name)
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["search_path"] = quoteIdent(schema)
	cfg.RuntimeParams["application_name"] = "cspm"

	pool := stdlib.OpenDB(*cfg)
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 8
	}
	pool.SetMaxOpenConns(maxConns)
	pool.SetMaxIdleConns(maxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)

	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	if _, err := pool.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(schema)); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to PostgreSQL at %s (database %s): %s", where, name, pgErrReason(err))
	}
	return &DB{DB: pool, Name: name, Dialect: Postgres, Schema: schema, location: where + " schema " + schema}, nil
}

// pgErrReason shortens pgx's connection errors to their last, useful clause.
func pgErrReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "failed to connect") {
		return strings.TrimSpace(msg[i+2:])
	}
	return msg
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
