package auth

import (
	"context"
	"database/sql"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
)

// APIToken is a bearer token for automation, made by a user for themselves.
// Only its SHA-256 is stored; the token is shown once, at creation.
type APIToken struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	TeamID     string     `json:"-"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	tokenHash  string
}

// TokenStore keeps API tokens in the platform database.
type TokenStore struct{ d *db.DB }

const tokenColumns = "id, token_hash, user_id, team_id, name, created_at, expires_at, last_used_at, revoked_at" //nolint:gosec // G101: column names, not a credential

func scanToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var (
		t             APIToken
		used, revoked sql.NullTime
	)
	if err := row.Scan(&t.ID, &t.tokenHash, &t.UserID, &t.TeamID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &used, &revoked); err != nil {
		return APIToken{}, db.MapError(err)
	}
	if used.Valid {
		t.LastUsedAt = &used.Time
	}
	if revoked.Valid {
		t.RevokedAt = &revoked.Time
	}
	return t, nil
}

// TokenCreate stores a token.
func (s *TokenStore) TokenCreate(ctx context.Context, t APIToken) error {
	return s.d.InTeam(ctx, t.TeamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, "INSERT INTO api_tokens (id, token_hash, user_id, team_id, name, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
			t.ID, t.tokenHash, t.UserID, t.TeamID, t.Name, t.CreatedAt.UTC(), t.ExpiresAt.UTC())
		return db.MapError(err)
	})
}

// tokenGetByHash finds a token in any team: only bearer resolution may.
func (s *TokenStore) tokenGetByHash(ctx context.Context, hash string) (APIToken, error) {
	var t APIToken
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		var err error
		t, err = scanToken(q.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE token_hash = $1", hash))
		return err
	})
	return t, err
}

// TokenListByUser lists a user's tokens, newest first.
func (s *TokenStore) TokenListByUser(ctx context.Context, teamID, userID string) ([]APIToken, error) {
	out := []APIToken{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE team_id = $1 AND user_id = $2 ORDER BY created_at DESC", teamID, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// TokenRevoke revokes one of a user's tokens; db.ErrNotFound if it is not theirs.
func (s *TokenStore) TokenRevoke(ctx context.Context, teamID, userID, tokenID string, at time.Time) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = $1 WHERE team_id = $2 AND user_id = $3 AND id = $4 AND revoked_at IS NULL",
			at.UTC(), teamID, userID, tokenID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		return nil
	})
}

// TokenRevokeByUser revokes every token of a user (when an admin disables them).
func (s *TokenStore) TokenRevokeByUser(ctx context.Context, teamID, userID string, at time.Time) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = $1 WHERE team_id = $2 AND user_id = $3 AND revoked_at IS NULL", at.UTC(), teamID, userID)
		return err
	})
}

// tokenTouch records use; callers throttle it.
func (s *TokenStore) tokenTouch(ctx context.Context, t APIToken, at time.Time) error {
	return s.d.InTeam(ctx, t.TeamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = $1 WHERE team_id = $2 AND id = $3", at.UTC(), t.TeamID, t.ID)
		return err
	})
}

// recoveryStore keeps hashed MFA recovery codes.
type recoveryStore struct{ d *db.DB }

func (s *recoveryStore) replace(ctx context.Context, teamID, userID string, hashes []string) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if _, err := q.ExecContext(ctx, "DELETE FROM mfa_recovery_codes WHERE team_id = $1 AND user_id = $2", teamID, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := q.ExecContext(ctx, "INSERT INTO mfa_recovery_codes (user_id, team_id, code_hash) VALUES ($1, $2, $3)", userID, teamID, h); err != nil {
				return err
			}
		}
		return nil
	})
}

// consume marks a code used; false if it is unknown or used already.
func (s *recoveryStore) consume(ctx context.Context, teamID, userID, hash string, at time.Time) (bool, error) {
	var n int64
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, "UPDATE mfa_recovery_codes SET used_at = $1 WHERE team_id = $2 AND user_id = $3 AND code_hash = $4 AND used_at IS NULL",
			at.UTC(), teamID, userID, hash)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n == 1, err
}
