package auth

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Session is a signed-in browser. The cookie holds a random token; stores
// keep only its SHA-256, so a copy of the store cannot be replayed.
type Session struct {
	ID         string    `json:"id" doc:"Handle for listing and revoking; not the cookie value."`
	TokenHash  string    `json:"-"`
	UserID     string    `json:"user_id"`
	TeamID     string    `json:"-"`
	CSRFToken  string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at" doc:"Absolute expiry; idle expiry comes sooner without activity."`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
}

// SessionStore is the seed's SessionStorage: SQL by default, Redis when
// configured. Both pass one behaviour suite (sessions_test.go).
type SessionStore interface {
	SessionCreate(ctx context.Context, s Session) error
	// SessionGetByTokenHash finds a session in any team; db.ErrNotFound if none.
	SessionGetByTokenHash(ctx context.Context, tokenHash string) (Session, error)
	// SessionTouch records activity, which pushes idle expiry back.
	SessionTouch(ctx context.Context, s Session, at time.Time) error
	SessionDelete(ctx context.Context, s Session) error
	SessionListByUser(ctx context.Context, teamID, userID string) ([]Session, error)
	// SessionDeleteByUser revokes every session of a user and says how many.
	SessionDeleteByUser(ctx context.Context, teamID, userID string) (int, error)
	// SessionDeleteExpired removes sessions idle since before idleBefore or past
	// their absolute expiry (Redis expires its own and returns 0).
	SessionDeleteExpired(ctx context.Context, now, idleBefore time.Time) (int, error)
}

// SQLSessionStore keeps sessions in the platform database.
type SQLSessionStore struct{ d *db.DB }

// NewSQLSessionStore returns the default session store.
func NewSQLSessionStore(reg *db.Registry) *SQLSessionStore {
	return &SQLSessionStore{d: reg.Get(db.Platform)}
}

const sessionColumns = "id, token_hash, user_id, team_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent"

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	err := row.Scan(&s.ID, &s.TokenHash, &s.UserID, &s.TeamID, &s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.IP, &s.UserAgent)
	return s, db.MapError(err)
}

// SessionCreate implements SessionStore.
func (st *SQLSessionStore) SessionCreate(ctx context.Context, s Session) error {
	return st.d.InTeam(ctx, s.TeamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
			s.ID, s.TokenHash, s.UserID, s.TeamID, s.CSRFToken, s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC(), s.IP, s.UserAgent)
		return db.MapError(err)
	})
}

// SessionGetByTokenHash implements SessionStore.
func (st *SQLSessionStore) SessionGetByTokenHash(ctx context.Context, tokenHash string) (Session, error) {
	var s Session
	err := st.d.AsSystem(ctx, func(q db.Querier) error {
		var err error
		s, err = scanSession(q.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE token_hash = $1", tokenHash))
		return err
	})
	return s, err
}

// SessionTouch implements SessionStore.
func (st *SQLSessionStore) SessionTouch(ctx context.Context, s Session, at time.Time) error {
	return st.d.InTeam(ctx, s.TeamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, "UPDATE sessions SET last_seen_at = $1 WHERE team_id = $2 AND id = $3", at.UTC(), s.TeamID, s.ID)
		return err
	})
}

// SessionDelete implements SessionStore.
func (st *SQLSessionStore) SessionDelete(ctx context.Context, s Session) error {
	return st.d.InTeam(ctx, s.TeamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "DELETE FROM sessions WHERE team_id = $1 AND id = $2", s.TeamID, s.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return nil
	})
}

// SessionListByUser implements SessionStore.
func (st *SQLSessionStore) SessionListByUser(ctx context.Context, teamID, userID string) ([]Session, error) {
	out := []Session{}
	err := st.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE team_id = $1 AND user_id = $2 ORDER BY created_at DESC", teamID, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanSession(rows)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}

// SessionDeleteByUser implements SessionStore.
func (st *SQLSessionStore) SessionDeleteByUser(ctx context.Context, teamID, userID string) (int, error) {
	var n int64
	err := st.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "DELETE FROM sessions WHERE team_id = $1 AND user_id = $2", teamID, userID)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// SessionDeleteExpired implements SessionStore.
func (st *SQLSessionStore) SessionDeleteExpired(ctx context.Context, now, idleBefore time.Time) (int, error) {
	var n int64
	err := st.d.AsSystem(ctx, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2", now.UTC(), idleBefore.UTC())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// LockoutStore counts sign-in attempts per key (an email, known or not, or
// a source address), so that lockout holds across every API process that
// shares the store. An attempt is reserved before its password is hashed,
// in one atomic step, so parallel guesses cannot all slip in between a check
// and a count: at most MaxFailures attempts per window reach the hash.
type LockoutStore interface {
	// LockoutReserve counts one attempt on key and returns its number in the
	// window, and, when key is locked (by an earlier attempt or by this one,
	// which reached the limit), when the lock ends. An attempt numbered above
	// p.MaxFailures is refused; the one that reaches it may still succeed,
	// and a success resets or refunds it.
	LockoutReserve(ctx context.Context, key string, now time.Time, p LockoutPolicy) (n int, until time.Time, err error)
	// LockoutRefund gives one reserved attempt back (a sign-in that proved
	// the password, or one never checked), and lifts a lock it had set.
	LockoutRefund(ctx context.Context, key string, p LockoutPolicy) error
	// LockoutReset forgets key's attempts and lock.
	LockoutReset(ctx context.Context, key string) error
}

// LockoutPolicy is the seed's MAX_FAILED_LOGIN_ATTEMPTS and its window.
type LockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
	// MaxFailuresPerAddress is the same limit per source address, over all
	// emails; 0 turns it off.
	MaxFailuresPerAddress int
}

// SQLLockoutStore keeps attempt counters in the platform database.
type SQLLockoutStore struct{ d *db.DB }

// NewSQLLockoutStore returns the default lockout store.
func NewSQLLockoutStore(reg *db.Registry) *SQLLockoutStore {
	return &SQLLockoutStore{d: reg.Get(db.Platform)}
}

// LockoutReserve implements LockoutStore with one upsert: a new window
// starts when the old one is over and no lock holds, or when a lock has
// ended; the lock is set by the attempt that reaches the limit. The SET
// expressions read the row as it was, on both engines.
func (st *SQLLockoutStore) LockoutReserve(ctx context.Context, key string, now time.Time, p LockoutPolicy) (int, time.Time, error) {
	now = now.UTC()
	var (
		n     int
		until sql.NullTime
	)
	// A limit of one locks with the first attempt.
	var first any
	if p.MaxFailures <= 1 {
		first = now.Add(p.LockFor)
	}
	const restart = `(login_failures.locked_until <= $2 OR (login_failures.locked_until IS NULL AND login_failures.window_start < $3))`
	err := st.d.AsSystem(ctx, func(q db.Querier) error {
		return q.QueryRowContext(ctx, `INSERT INTO login_failures (login_key, failures, window_start, locked_until)
			VALUES ($1, 1, $2, $6)
			ON CONFLICT (login_key) DO UPDATE SET
			  failures = CASE WHEN `+restart+` THEN 1 ELSE login_failures.failures + 1 END,
			  window_start = CASE WHEN `+restart+` THEN $2 ELSE login_failures.window_start END,
			  locked_until = CASE
			    WHEN login_failures.locked_until > $2 THEN login_failures.locked_until
			    WHEN (CASE WHEN `+restart+` THEN 1 ELSE login_failures.failures + 1 END) >= $4 THEN $5
			  END
			RETURNING failures, locked_until`, key, now, now.Add(-p.Window), p.MaxFailures, now.Add(p.LockFor), first).Scan(&n, &until)
	})
	if err != nil || !until.Valid {
		return n, time.Time{}, err
	}
	return n, until.Time, nil
}

// LockoutRefund implements LockoutStore.
func (st *SQLLockoutStore) LockoutRefund(ctx context.Context, key string, p LockoutPolicy) error {
	return st.d.AsSystem(ctx, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `UPDATE login_failures SET failures = failures - 1,
			locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END
			WHERE login_key = $1 AND failures > 0`, key, p.MaxFailures)
		return err
	})
}

// LockoutReset implements LockoutStore.
func (st *SQLLockoutStore) LockoutReset(ctx context.Context, key string) error {
	_, err := st.d.ExecContext(ctx, "DELETE FROM login_failures WHERE login_key = $1", key)
	return err
}

func sortSessions(s []Session) {
	sort.Slice(s, func(i, j int) bool { return s[i].CreatedAt.After(s[j].CreatedAt) })
}
