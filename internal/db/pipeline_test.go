package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

// A pipeline's statements run in the transaction it was opened on: the
// transaction reads their rows once it is closed, and commits them; the
// first failing statement's error comes back (not the errors of those
// after it, which fail because the transaction is aborted), and the
// transaction then commits nothing. A pipeline on a closed connection
// fails instead of waiting. On SQLite there is no connection to pipeline
// on.
func TestPipeline(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, e).Get(db.NativeScans)
			if e.URL == "" {
				if err := d.InTeamConn(ctx, "t1", func(_ db.Querier, conn *sql.Conn) error {
					if conn != nil {
						t.Error("SQLite handed out a connection to pipeline on")
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return
			}
			if _, err := d.ExecContext(ctx, "CREATE TABLE pipeline_probe (n int8 PRIMARY KEY, label text NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			types := pgtype.NewMap()
			insert := func(p *db.Pipeline, n int64, label string) error {
				num, err := types.Encode(pgtype.Int8OID, pgtype.BinaryFormatCode, n, nil)
				if err != nil {
					t.Fatal(err)
				}
				text, err := types.Encode(pgtype.TextOID, pgtype.BinaryFormatCode, label, nil)
				if err != nil {
					t.Fatal(err)
				}
				return p.Exec("INSERT INTO pipeline_probe (n, label) VALUES ($1, $2)", [][]byte{num, text}, []uint32{pgtype.Int8OID, pgtype.TextOID})
			}
			count := func(q db.Querier) int {
				var n int
				if err := q.QueryRowContext(ctx, "SELECT count(*) FROM pipeline_probe").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}

			var done *sql.Conn // closed once InTeamConn returns
			if err := d.InTeamConn(ctx, "t1", func(q db.Querier, conn *sql.Conn) error {
				done = conn
				p := db.OpenPipeline(ctx, conn)
				for n := range int64(20) {
					if err := insert(p, n, "x"); err != nil {
						_ = p.Close()
						return err
					}
				}
				if err := p.Close(); err != nil {
					return err
				}
				if got := count(q); got != 20 {
					t.Errorf("the transaction reads %d rows after the pipeline, want 20", got)
				}
				// A second pipeline on the same transaction.
				p = db.OpenPipeline(ctx, conn)
				if err := insert(p, 20, "y"); err != nil {
					_ = p.Close()
					return err
				}
				return p.Close()
			}); err != nil {
				t.Fatal(err)
			}
			if got := count(d); got != 21 {
				t.Fatalf("committed %d rows, want 21", got)
			}

			// A pipeline on a connection that is gone fails, and does not hang.
			p := db.OpenPipeline(ctx, done)
			_ = insert(p, 99, "gone")
			if err := p.Close(); !errors.Is(err, sql.ErrConnDone) {
				t.Errorf("a pipeline on a closed connection returned %v, want sql.ErrConnDone", err)
			}

			var execErr error
			err := d.InTeamConn(ctx, "t1", func(q db.Querier, conn *sql.Conn) error {
				p := db.OpenPipeline(ctx, conn)
				for n := int64(100); n < 120; n++ {
					key := n
					if n == 105 {
						key = 3 // stored already
					}
					if err := insert(p, key, "z"); err != nil && execErr == nil {
						execErr = err
					}
				}
				return p.Close()
			})
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
				t.Fatalf("a pipeline with a duplicate key returned %v, want the unique violation (23505)", err)
			}
			if execErr != nil && !errors.As(execErr, &pgErr) {
				t.Errorf("Exec after the failure returned %v", execErr)
			}
			if got := count(d); got != 21 {
				t.Errorf("after the failed transaction %d rows, want 21", got)
			}
			// The connection went back to the pool in a state others can use.
			for range 8 {
				if got := count(d); got != 21 {
					t.Fatalf("a pooled connection reads %d rows, want 21", got)
				}
			}
		})
	}
}
