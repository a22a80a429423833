package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Querier is what a store needs to run SQL: a pool or a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// QueryStrings returns the first column of every row of query, as text.
func QueryStrings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ErrNoTeam means tenant-scoped work was asked for without a team.
var ErrNoTeam = errors.New("db: tenant-scoped query without a team")

// systemScope marks work that legitimately crosses teams.
const systemScope = "system"

// InTeam runs fn in a transaction scoped to teamID. Every tenant-scoped
// query filters on team_id itself; on PostgreSQL the transaction also sets
// cspm.team_id, which row-level security checks as a second wall, so a query
// that forgot its filter still sees only this team's rows.
func (d *DB) InTeam(ctx context.Context, teamID string, fn func(q Querier) error) error {
	if teamID == "" {
		return ErrNoTeam
	}
	return d.inScope(ctx, false, "cspm.team_id", teamID, fn)
}

// ReadInTeam is InTeam for reads: on SQLite it uses the concurrent reader
// pool without a transaction; on PostgreSQL a read-only transaction.
func (d *DB) ReadInTeam(ctx context.Context, teamID string, fn func(q Querier) error) error {
	if teamID == "" {
		return ErrNoTeam
	}
	if d.Dialect == SQLite {
		return fn(d.Reader())
	}
	return d.inScope(ctx, true, "cspm.team_id", teamID, fn)
}

// AsSystem runs fn in a transaction that may see every team's rows: for the
// few operations that must, such as finding a user by email at login or a
// session by its token. Keep its callers few and obvious.
func (d *DB) AsSystem(ctx context.Context, fn func(q Querier) error) error {
	return d.inScope(ctx, false, "cspm.scope", systemScope, fn)
}

// InTeamConn is InTeam for work that also needs the transaction's
// connection itself, such as a Pipeline; conn is nil on SQLite.
func (d *DB) InTeamConn(ctx context.Context, teamID string, fn func(q Querier, conn *sql.Conn) error) error {
	if teamID == "" {
		return ErrNoTeam
	}
	if d.Dialect != Postgres {
		return d.inScope(ctx, false, "cspm.team_id", teamID, func(q Querier) error { return fn(q, nil) })
	}
	defer d.enterWrite()()
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	return d.scoped(ctx, tx, "cspm.team_id", teamID, func(q Querier) error { return fn(q, conn) })
}

func (d *DB) inScope(ctx context.Context, readOnly bool, key, value string, fn func(q Querier) error) error {
	if !readOnly {
		defer d.enterWrite()()
	}
	tx, err := d.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly && d.Dialect == Postgres})
	if err != nil {
		return err
	}
	return d.scoped(ctx, tx, key, value, fn)
}

// scoped sets the transaction's scope, runs fn in it, and commits.
func (d *DB) scoped(ctx context.Context, tx *sql.Tx, key, value string, fn func(q Querier) error) error {
	defer func() { _ = tx.Rollback() }()
	if d.Dialect == Postgres {
		// A team's transaction runs as the tenant role when the connecting
		// role would bypass row-level security; set in the same round trip.
		role := ""
		if key == "cspm.team_id" {
			role = d.tenantRole
		}
		if _, err := tx.ExecContext(ctx, "SELECT set_config($1, $2, true), CASE WHEN $3 <> '' THEN set_config('role', $3, true) END",
			key, value, role); err != nil {
			return fmt.Errorf("set %s: %w", key, err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// NoJIT turns PostgreSQL's JIT compilation off for the rest of the
// transaction q (nothing on SQLite). For passes over a million index
// entries the planner's cost calls for compiling, which took 75 ms of a
// 200 ms pass (findings.CheckResults): it costs more than it saves.
func NoJIT(ctx context.Context, d *DB, q Querier) error {
	if d.Dialect != Postgres {
		return nil
	}
	_, err := q.ExecContext(ctx, "SET LOCAL jit = off")
	return err
}
