package db

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Store errors every service maps to HTTP the same way.
var (
	// ErrNotFound: no row, or a row of another team (never tell them apart).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint refused the write.
	ErrConflict = errors.New("conflict")
)

// MapError turns driver errors into ErrNotFound and ErrConflict, wrapping the
// original so that logs keep the detail.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return errors.Join(ErrConflict, err)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return errors.Join(ErrConflict, err)
	}
	return err
}

// IsInvalidText reports whether err is PostgreSQL refusing text it cannot
// store: a NUL character (22021, or 22P05 for a \u0000 escape in JSON). A
// request that carried one gets a 400, not a 500.
func IsInvalidText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P05")
}
