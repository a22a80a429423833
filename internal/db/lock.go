package db

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// WithLock runs fn while holding an exclusive, cross-process lock named key
// on this database: a session advisory lock on PostgreSQL, an flock(2) on a
// file beside the database on SQLite. Migrations use it so that processes
// starting together against one database take turns.
func (d *DB) WithLock(ctx context.Context, key string, fn func() error) error {
	if d.Dialect == Postgres {
		return d.withAdvisoryLock(ctx, key, fn)
	}
	return d.withFileLock(ctx, key, fn)
}

func (d *DB) withAdvisoryLock(ctx context.Context, key string, fn func() error) error {
	id := d.advisoryKey(key)
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", id); err != nil {
		return fmt.Errorf("take lock %s: %w", key, err)
	}
	defer func() {
		// A fresh context: the lock must be released even when ctx is done.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", id)
	}()
	return fn()
}

func (d *DB) withFileLock(ctx context.Context, key string, fn func() error) error {
	path := filepath.Join(filepath.Dir(d.location), "."+string(d.Name)+"."+key+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("take lock %s: %w", key, err)
	}
	defer f.Close()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK {
			return fmt.Errorf("take lock %s: %w", key, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	return fn()
}

// LockInTx takes an exclusive lock named key until q's transaction ends: a
// transaction-level advisory lock on PostgreSQL. On SQLite, where one writer
// connection already serializes write transactions, it does nothing.
func (d *DB) LockInTx(ctx context.Context, q Querier, key string) error {
	if d.Dialect != Postgres {
		return nil
	}
	if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", d.advisoryKey(key)); err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	return nil
}

// advisoryKey is the PostgreSQL advisory lock key of a lock name, within
// this database's schema (keys are signed 64-bit).
func (d *DB) advisoryKey(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(key + ":" + d.Schema))
	return int64(h.Sum64() >> 1)
}
