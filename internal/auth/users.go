package auth

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

// User is a member of one team.
type User struct {
	ID                string     `json:"id"`
	TeamID            string     `json:"team_id"`
	Email             string     `json:"email"`
	Role              rbac.Role  `json:"role"`
	MFAEnabled        bool       `json:"mfa_enabled"`
	Disabled          bool       `json:"disabled"`
	PasswordChangedAt time.Time  `json:"password_changed_at"`
	CreatedAt         time.Time  `json:"created_at"`
	DisabledAt        *time.Time `json:"disabled_at,omitempty"`
	// PasswordChangeRequired: the password is a one-time one (generated at
	// bootstrap, creation or reset) that the user has not replaced yet.
	PasswordChangeRequired bool `json:"password_change_required"`

	passwordHash string
	mfaSecret    string // sealed
}

// NormalizeEmail lower-cases and trims an email, the key users are found by.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

const userColumns = `id, team_id, email, role, password_hash, COALESCE(mfa_secret, ''), mfa_enabled_at,
	disabled_at, password_changed_at, created_at, must_change_password`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var (
		u                 User
		role              string
		mfaOn, disabledAt sql.NullTime
	)
	if err := row.Scan(&u.ID, &u.TeamID, &u.Email, &role, &u.passwordHash, &u.mfaSecret, &mfaOn,
		&disabledAt, &u.PasswordChangedAt, &u.CreatedAt, &u.PasswordChangeRequired); err != nil {
		return User{}, db.MapError(err)
	}
	u.Role = rbac.Role(role)
	u.MFAEnabled = mfaOn.Valid
	if disabledAt.Valid {
		u.Disabled, u.DisabledAt = true, &disabledAt.Time
	}
	return u, nil
}

// UserStore keeps users in the platform database.
type UserStore struct{ d *db.DB }

// UserCreateParams describes a new user. PasswordHash is already hashed.
type UserCreateParams struct {
	ID, TeamID, Email, PasswordHash string
	Role                            rbac.Role
	// OneTime: the password was generated for the user, who must replace it.
	OneTime bool
}

// UserCreate inserts a user; a taken email is db.ErrConflict.
func (s *UserStore) UserCreate(ctx context.Context, p UserCreateParams) (User, error) {
	now := time.Now().UTC()
	err := s.d.InTeam(ctx, p.TeamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO users (id, team_id, email, role, password_hash, password_changed_at, created_at, updated_at,
			must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $6, $6, $7)`, p.ID, p.TeamID, NormalizeEmail(p.Email), string(p.Role),
			p.PasswordHash, now, p.OneTime)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", db.MapError(err))
	}
	return s.UserGet(ctx, p.TeamID, p.ID)
}

// UserGet returns a user of the team; another team's user is db.ErrNotFound.
func (s *UserStore) UserGet(ctx context.Context, teamID, userID string) (User, error) {
	var u User
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		u, err = scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE team_id = $1 AND id = $2", teamID, userID))
		return err
	})
	return u, err
}

// userGetByEmail finds a user in any team: only login may do this.
func (s *UserStore) userGetByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		var err error
		u, err = scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", NormalizeEmail(email)))
		return err
	})
	return u, err
}

// userGetAny finds a user by ID in any team: only session and token
// resolution may do this, before the team is known.
func (s *UserStore) userGetAny(ctx context.Context, userID string) (User, error) {
	var u User
	err := s.d.AsSystem(ctx, func(q db.Querier) error {
		var err error
		u, err = scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", userID))
		return err
	})
	return u, err
}

// UserList lists the team's users by email.
func (s *UserStore) UserList(ctx context.Context, teamID string) ([]User, error) {
	out := []User{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		rows, err := q.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE team_id = $1 ORDER BY email", teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	return out, err
}

// userUpdate runs one UPDATE on a user of the team; no row is db.ErrNotFound.
func (s *UserStore) userUpdate(ctx context.Context, teamID, userID, set string, args ...any) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		n := len(args)
		all := append(args, time.Now().UTC(), teamID, userID)
		res, err := q.ExecContext(ctx, fmt.Sprintf("UPDATE users SET %s, updated_at = $%d WHERE team_id = $%d AND id = $%d",
			set, n+1, n+2, n+3), all...)
		if err != nil {
			return db.MapError(err)
		}
		if c, _ := res.RowsAffected(); c == 0 {
			return db.ErrNotFound
		}
		return nil
	})
}

// UserSetPassword stores a new hash; oneTime says whether it is a
// generated password the user must replace.
func (s *UserStore) UserSetPassword(ctx context.Context, teamID, userID, hash string, oneTime bool) error {
	return s.userUpdate(ctx, teamID, userID, "password_hash = $1, password_changed_at = $2, must_change_password = $3",
		hash, time.Now().UTC(), oneTime)
}

// UserSetRole changes the role.
func (s *UserStore) UserSetRole(ctx context.Context, teamID, userID string, role rbac.Role) error {
	return s.userUpdate(ctx, teamID, userID, "role = $1", string(role))
}

// UserSetDisabled disables or re-enables a user.
func (s *UserStore) UserSetDisabled(ctx context.Context, teamID, userID string, disabled bool) error {
	var at any
	if disabled {
		at = time.Now().UTC()
	}
	return s.userUpdate(ctx, teamID, userID, "disabled_at = $1", at)
}

// UserSetMFA stores a sealed TOTP secret and whether it is confirmed; an
// empty secret removes MFA.
func (s *UserStore) UserSetMFA(ctx context.Context, teamID, userID, sealedSecret string, enabled bool) error {
	var secret, at any
	if sealedSecret != "" {
		secret = sealedSecret
	}
	if enabled {
		at = time.Now().UTC()
	}
	if !enabled {
		// A new secret starts a new sequence of steps.
		return s.userUpdate(ctx, teamID, userID, "mfa_secret = $1, mfa_enabled_at = $2, mfa_last_step = NULL", secret, at)
	}
	return s.userUpdate(ctx, teamID, userID, "mfa_secret = $1, mfa_enabled_at = $2", secret, at)
}

// userClaimTOTPStep records step as the last TOTP step used, if it is later
// than the last one; false means the code's step was used already.
func (s *UserStore) userClaimTOTPStep(ctx context.Context, teamID, userID string, step int64) (bool, error) {
	var n int64
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE users SET mfa_last_step = $1
			WHERE team_id = $2 AND id = $3 AND (mfa_last_step IS NULL OR mfa_last_step < $1)`, step, teamID, userID)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n == 1, err
}

// ResealMFASecretsTx seals every user's TOTP secret again under to, with q
// (a system-scoped transaction on the platform database): the
// key-rotation command's part for MFA.
func ResealMFASecretsTx(ctx context.Context, q db.Querier, from, to *secrets.Box) (int, error) {
	return secrets.Reseal(ctx, q, "users", "id", "mfa_secret", mfaSealContext, from, to)
}

// mfaSealContext binds a sealed TOTP secret to its user.
func mfaSealContext(userID string) string { return "totp:" + userID }
