package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

func (s *Service) record(ctx context.Context, actor *Principal, action, targetType, targetID string, details map[string]any) {
	e := audit.Event{Action: action, TargetType: targetType, TargetID: targetID, Details: details}
	if actor != nil {
		e.TeamID, e.ActorID, e.ActorEmail = actor.TeamID(), actor.User.ID, actor.User.Email
	}
	_ = s.opts.Audit.Record(ctx, e)
}

// ChangePassword changes the caller's password after checking the current
// one, and ends their other sessions.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	u, err := s.users.UserGet(ctx, p.TeamID(), p.User.ID)
	if err != nil {
		return err
	}
	ok, _, err := s.opts.Hasher.Verify(ctx, current, u.passwordHash)
	if err != nil {
		return err
	}
	if !ok {
		s.record(ctx, p, "auth.password_change", "user", u.ID, map[string]any{"outcome": "bad_current_password"})
		return ErrInvalidCredentials
	}
	if err := CheckPasswordPolicy(next, u.Email); err != nil {
		return err
	}
	hash, err := s.opts.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.users.UserSetPassword(ctx, u.TeamID, u.ID, hash, false); err != nil {
		return err
	}
	revoked, err := s.revokeOtherSessions(ctx, p)
	if err != nil {
		return err
	}
	// Tokens were made under the old password: whoever learned it may
	// have made one.
	if err := s.tokens.TokenRevokeByUser(ctx, u.TeamID, u.ID, s.opts.Now()); err != nil {
		return err
	}
	s.record(ctx, p, "auth.password_changed", "user", u.ID, map[string]any{"other_sessions_revoked": revoked, "api_tokens_revoked": true})
	return nil
}

func (s *Service) revokeOtherSessions(ctx context.Context, p *Principal) (int, error) {
	sessions, err := s.opts.Sessions.SessionListByUser(ctx, p.TeamID(), p.User.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sess := range sessions {
		if p.Session != nil && sess.ID == p.Session.ID {
			continue
		}
		if err := s.opts.Sessions.SessionDelete(ctx, sess); err == nil {
			n++
		}
	}
	return n, nil
}

// SessionList lists the caller's sessions.
func (s *Service) SessionList(ctx context.Context, p *Principal) ([]Session, error) {
	return s.opts.Sessions.SessionListByUser(ctx, p.TeamID(), p.User.ID)
}

// SessionRevoke ends one of the caller's sessions.
func (s *Service) SessionRevoke(ctx context.Context, p *Principal, sessionID string) error {
	sessions, err := s.opts.Sessions.SessionListByUser(ctx, p.TeamID(), p.User.ID)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		if sess.ID == sessionID {
			if err := s.opts.Sessions.SessionDelete(ctx, sess); err != nil {
				return err
			}
			s.record(ctx, p, "auth.session_revoked", "session", sessionID, nil)
			return nil
		}
	}
	return db.ErrNotFound
}

// TokenCreateParams describes a new API token.
type TokenCreateParams struct {
	Name      string
	ExpiresIn time.Duration
}

// MaxTokenLifetime bounds API tokens: automation must rotate them.
const MaxTokenLifetime = 366 * 24 * time.Hour

// TokenCreate makes an API token for the caller and returns it once.
func (s *Service) TokenCreate(ctx context.Context, p *Principal, params TokenCreateParams) (APIToken, string, error) {
	name := strings.TrimSpace(params.Name)
	if name == "" || len(name) > 100 {
		return APIToken{}, "", fmt.Errorf("%w: name must be 1 to 100 characters", ErrInvalidInput)
	}
	// A token cannot mint tokens: a leaked one would otherwise renew
	// itself forever, past every revocation of the tokens it knew of.
	if p.PasswordChangePending {
		// A token would outlive the one-time password it was made with.
		return APIToken{}, "", fmt.Errorf("%w: change your one-time password before creating API tokens", ErrForbidden)
	}
	if !p.ViaCookie() {
		return APIToken{}, "", fmt.Errorf("%w: API tokens are created from a signed-in session, not with another token", ErrForbidden)
	}
	t, err := s.opts.Teams.TeamGet(ctx, p.TeamID())
	if err != nil {
		return APIToken{}, "", err
	}
	limit := min(time.Duration(t.MaxTokenDays)*24*time.Hour, MaxTokenLifetime)
	if params.ExpiresIn <= 0 || params.ExpiresIn > limit {
		return APIToken{}, "", fmt.Errorf("%w: expiry must be between 1 second and %d days (the team's limit)", ErrInvalidInput, int(limit.Hours()/24))
	}
	now := s.opts.Now().UTC()
	secret := tokenPrefix + id.Token(32)
	tok := APIToken{ID: id.New(), UserID: p.User.ID, TeamID: p.TeamID(), Name: name, CreatedAt: now,
		ExpiresAt: now.Add(params.ExpiresIn), tokenHash: hashToken(secret)}
	if err := s.tokens.TokenCreate(ctx, tok); err != nil {
		return APIToken{}, "", err
	}
	s.record(ctx, p, "auth.token_created", "api_token", tok.ID, map[string]any{"name": name, "expires_at": tok.ExpiresAt})
	return tok, secret, nil
}

// TokenList lists the caller's API tokens.
func (s *Service) TokenList(ctx context.Context, p *Principal) ([]APIToken, error) {
	return s.tokens.TokenListByUser(ctx, p.TeamID(), p.User.ID)
}

// TokenRevoke revokes one of the caller's tokens.
func (s *Service) TokenRevoke(ctx context.Context, p *Principal, tokenID string) error {
	if err := s.tokens.TokenRevoke(ctx, p.TeamID(), p.User.ID, tokenID, s.opts.Now()); err != nil {
		return err
	}
	s.record(ctx, p, "auth.token_revoked", "api_token", tokenID, nil)
	return nil
}

// ErrInvalidInput wraps errors that are the caller's to fix (HTTP 422).
var ErrInvalidInput = errors.New("invalid input")

// MFAEnrollment is what a user needs to add the account to an authenticator app.
type MFAEnrollment struct {
	Secret     string `json:"secret" doc:"Base32 TOTP secret, for manual entry."`
	OTPAuthURL string `json:"otpauth_url" doc:"otpauth:// URL the QR code encodes."`
	QRCodePNG  string `json:"qr_code_png" doc:"QR code as a data: URL (image/png)."`
}

const totpIssuer = "OffloadSecurity CSPM"

// MFAEnroll starts (or restarts) TOTP enrolment: a new secret is stored,
// sealed, and takes effect only once MFAConfirm sees a valid code.
func (s *Service) MFAEnroll(ctx context.Context, p *Principal) (MFAEnrollment, error) {
	if p.User.MFAEnabled {
		return MFAEnrollment{}, fmt.Errorf("%w: MFA is already enabled; disable it first to enrol a new device", ErrInvalidInput)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: p.User.Email, SecretSize: 20})
	if err != nil {
		return MFAEnrollment{}, err
	}
	if err := s.users.UserSetMFA(ctx, p.TeamID(), p.User.ID, s.opts.Box.Seal(key.Secret(), mfaSealContext(p.User.ID)), false); err != nil {
		return MFAEnrollment{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return MFAEnrollment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return MFAEnrollment{}, err
	}
	s.record(ctx, p, "auth.mfa_enrollment_started", "user", p.User.ID, nil)
	return MFAEnrollment{Secret: key.Secret(), OTPAuthURL: key.URL(),
		QRCodePNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// MFAConfirm enables MFA once the user proves their app produces codes, and
// returns ten one-time recovery codes, shown once.
func (s *Service) MFAConfirm(ctx context.Context, p *Principal, code string) ([]string, error) {
	u, err := s.users.UserGet(ctx, p.TeamID(), p.User.ID)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled || u.mfaSecret == "" {
		return nil, fmt.Errorf("%w: start enrolment first", ErrInvalidInput)
	}
	ok, err := s.checkTOTP(ctx, u, code, s.opts.Now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: the code does not match; check the device's clock", ErrInvalidInput)
	}
	codes := make([]string, 10)
	hashes := make([]string, 10)
	for i := range codes {
		raw := strings.ToUpper(id.Token(5)) // 40 bits each, single use
		codes[i] = raw[:5] + "-" + raw[5:]
		hashes[i] = hashToken(raw)
	}
	if err := s.recovery.replace(ctx, u.TeamID, u.ID, hashes); err != nil {
		return nil, err
	}
	if err := s.users.UserSetMFA(ctx, u.TeamID, u.ID, u.mfaSecret, true); err != nil {
		return nil, err
	}
	s.record(ctx, p, "auth.mfa_enabled", "user", u.ID, nil)
	return codes, nil
}

// MFADisable removes MFA after checking the password.
func (s *Service) MFADisable(ctx context.Context, p *Principal, password string) error {
	u, err := s.users.UserGet(ctx, p.TeamID(), p.User.ID)
	if err != nil {
		return err
	}
	ok, _, err := s.opts.Hasher.Verify(ctx, password, u.passwordHash)
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalidCredentials
	}
	if err := s.users.UserSetMFA(ctx, u.TeamID, u.ID, "", false); err != nil {
		return err
	}
	if err := s.recovery.replace(ctx, u.TeamID, u.ID, nil); err != nil {
		return err
	}
	s.record(ctx, p, "auth.mfa_disabled", "user", u.ID, nil)
	return nil
}

// checkTOTP accepts a code for the current 30-second step or one step
// either side (clock drift), and only for a step later than the last one
// accepted, so that a code seen over a shoulder or in a log cannot be
// replayed within its window.
func (s *Service) checkTOTP(ctx context.Context, u User, code string, now time.Time) (bool, error) {
	secret, err := s.opts.Box.Open(u.mfaSecret, mfaSealContext(u.ID))
	if err != nil {
		return false, fmt.Errorf("open TOTP secret of user %s: %w", u.ID, err)
	}
	code = strings.TrimSpace(code)
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	matched := int64(-1)
	for _, offset := range []int64{-1, 0, 1} {
		at := now.Add(time.Duration(offset) * 30 * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, opts)
		if err == nil && len(code) == len(want) && subtle.ConstantTimeCompare([]byte(code), []byte(want)) == 1 {
			matched = at.Unix() / 30
		}
	}
	if matched < 0 {
		return false, nil
	}
	return s.users.userClaimTOTPStep(ctx, u.TeamID, u.ID, matched)
}

func normalizeRecovery(code string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
}

// UserCreateRequest is an admin's request to add a user to their team.
type UserCreateRequest struct {
	Email    string
	Role     rbac.Role
	Password string // empty: a one-time password is generated and returned
}

// GeneratePassword returns a random password that passes the policy.
func GeneratePassword() string {
	raw := id.Token(12)
	return raw[:8] + "-" + raw[8:16] + "-" + raw[16:]
}

// UserCreate adds a user to the team of the admin (or, with a nil actor, the
// CLI). It returns the one-time password when it generated one.
func (s *Service) UserCreate(ctx context.Context, actor *Principal, teamID string, r UserCreateRequest) (User, string, error) {
	email := NormalizeEmail(r.Email)
	if !strings.Contains(email, "@") || len(email) > 254 || strings.ContainsAny(email, " \t\r\n") {
		return User{}, "", fmt.Errorf("%w: %q is not an email address", ErrInvalidInput, r.Email)
	}
	if !r.Role.Valid() {
		_, err := rbac.ParseRole(string(r.Role))
		return User{}, "", fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if actor != nil && rbac.Rank(r.Role) < rbac.Rank(actor.Role) {
		return User{}, "", fmt.Errorf("%w: cannot grant a role above your own", ErrForbidden)
	}
	oneTime := ""
	if r.Password == "" {
		oneTime = GeneratePassword()
		r.Password = oneTime
	}
	if err := CheckPasswordPolicy(r.Password, email); err != nil {
		return User{}, "", fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	hash, err := s.opts.Hasher.Hash(ctx, r.Password)
	if err != nil {
		return User{}, "", err
	}
	u, err := s.users.UserCreate(ctx, UserCreateParams{ID: id.New(), TeamID: teamID, Email: email, PasswordHash: hash, Role: r.Role,
		OneTime: oneTime != ""})
	if err != nil {
		return User{}, "", err
	}
	e := audit.Event{TeamID: teamID, Action: "user.created", TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"email": u.Email, "role": string(u.Role)}}
	if actor != nil {
		e.ActorID, e.ActorEmail = actor.User.ID, actor.User.Email
	} else {
		e.ActorEmail = "cli"
	}
	_ = s.opts.Audit.Record(ctx, e)
	return u, oneTime, nil
}

// UserImport adds a user with an existing pbkdf2_sha256 hash (from an older
// system); the hash is upgraded at their next sign-in if it is weaker.
func (s *Service) UserImport(ctx context.Context, teamID, email string, role rbac.Role, hash string) (User, error) {
	if err := ValidateHash(hash); err != nil {
		return User{}, fmt.Errorf("%w: password_hash: %w", ErrInvalidInput, err)
	}
	if !role.Valid() {
		_, err := rbac.ParseRole(string(role))
		return User{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	email = NormalizeEmail(email)
	if !strings.Contains(email, "@") {
		return User{}, fmt.Errorf("%w: %q is not an email address", ErrInvalidInput, email)
	}
	u, err := s.users.UserCreate(ctx, UserCreateParams{ID: id.New(), TeamID: teamID, Email: email, PasswordHash: hash, Role: role})
	if err != nil {
		return User{}, err
	}
	_ = s.opts.Audit.Record(ctx, audit.Event{TeamID: teamID, ActorEmail: "cli", Action: "user.imported", TargetType: "user",
		TargetID: u.ID, Details: map[string]any{"email": u.Email, "role": string(role)}})
	return u, nil
}

// UserUpdate is an admin's change to a user: role and/or disabled.
type UserUpdate struct {
	Role     *rbac.Role
	Disabled *bool
}

// UserChange applies an admin's change. Only holders of users:manage get
// here; nobody changes their own role or disables themselves, so a team
// cannot lose its last admin by accident and nobody raises their own rights.
func (s *Service) UserChange(ctx context.Context, actor *Principal, userID string, ch UserUpdate) (User, error) {
	u, err := s.users.UserGet(ctx, actor.TeamID(), userID)
	if err != nil {
		return User{}, err
	}
	if ch.Role != nil && *ch.Role != u.Role {
		if u.ID == actor.User.ID {
			return User{}, fmt.Errorf("%w: you cannot change your own role", ErrForbidden)
		}
		if !ch.Role.Valid() {
			_, err := rbac.ParseRole(string(*ch.Role))
			return User{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		if rbac.Rank(*ch.Role) < rbac.Rank(actor.Role) {
			return User{}, fmt.Errorf("%w: cannot grant a role above your own", ErrForbidden)
		}
		if err := s.users.UserSetRole(ctx, u.TeamID, u.ID, *ch.Role); err != nil {
			return User{}, err
		}
		s.record(ctx, actor, "user.role_changed", "user", u.ID, map[string]any{"from": string(u.Role), "to": string(*ch.Role)})
	}
	if ch.Disabled != nil && *ch.Disabled != u.Disabled {
		if u.ID == actor.User.ID {
			return User{}, fmt.Errorf("%w: you cannot disable yourself", ErrForbidden)
		}
		if err := s.users.UserSetDisabled(ctx, u.TeamID, u.ID, *ch.Disabled); err != nil {
			return User{}, err
		}
		action := "user.enabled"
		if *ch.Disabled {
			action = "user.disabled"
			if _, err := s.opts.Sessions.SessionDeleteByUser(ctx, u.TeamID, u.ID); err != nil {
				return User{}, err
			}
			if err := s.tokens.TokenRevokeByUser(ctx, u.TeamID, u.ID, s.opts.Now()); err != nil {
				return User{}, err
			}
		}
		s.record(ctx, actor, action, "user", u.ID, nil)
	}
	return s.users.UserGet(ctx, actor.TeamID(), userID)
}

// UserResetPassword gives a user a new one-time password, ends their
// sessions, and clears their lockout.
func (s *Service) UserResetPassword(ctx context.Context, actor *Principal, userID string) (string, error) {
	u, err := s.users.UserGet(ctx, actor.TeamID(), userID)
	if err != nil {
		return "", err
	}
	pw := GeneratePassword()
	hash, err := s.opts.Hasher.Hash(ctx, pw)
	if err != nil {
		return "", err
	}
	if err := s.users.UserSetPassword(ctx, u.TeamID, u.ID, hash, true); err != nil {
		return "", err
	}
	if _, err := s.opts.Sessions.SessionDeleteByUser(ctx, u.TeamID, u.ID); err != nil {
		return "", err
	}
	if err := s.tokens.TokenRevokeByUser(ctx, u.TeamID, u.ID, s.opts.Now()); err != nil {
		return "", err
	}
	if err := s.opts.Lockouts.LockoutReset(ctx, u.Email); err != nil {
		return "", err
	}
	s.record(ctx, actor, "user.password_reset", "user", u.ID, nil)
	return pw, nil
}

// UserRevokeSessions signs a user of the admin's team out everywhere: it
// ends every session and revokes every API token.
func (s *Service) UserRevokeSessions(ctx context.Context, actor *Principal, userID string) (int, error) {
	u, err := s.users.UserGet(ctx, actor.TeamID(), userID)
	if err != nil {
		return 0, err
	}
	n, err := s.opts.Sessions.SessionDeleteByUser(ctx, u.TeamID, u.ID)
	if err != nil {
		return 0, err
	}
	if err := s.tokens.TokenRevokeByUser(ctx, u.TeamID, u.ID, s.opts.Now()); err != nil {
		return 0, err
	}
	s.record(ctx, actor, "auth.sessions_revoked", "user", u.ID, map[string]any{"count": n})
	return n, nil
}

// TeamSetMaxTokenDays bounds the lifetime of the team's new API tokens.
func (s *Service) TeamSetMaxTokenDays(ctx context.Context, actor *Principal, days int) error {
	if days < 1 || days > int(MaxTokenLifetime.Hours()/24) {
		return fmt.Errorf("%w: max_token_days must be from 1 to 366", ErrInvalidInput)
	}
	if err := s.opts.Teams.TeamSetMaxTokenDays(ctx, actor.TeamID(), days); err != nil {
		return err
	}
	s.record(ctx, actor, "team.token_lifetime_changed", "team", actor.TeamID(), map[string]any{"max_token_days": days})
	return nil
}

// TeamSetRequireMFA changes the team's MFA requirement.
func (s *Service) TeamSetRequireMFA(ctx context.Context, actor *Principal, require bool) error {
	// An administrator without MFA who turned the requirement on would be
	// shut out of the very settings that turn it off.
	if require && !actor.User.MFAEnabled {
		return fmt.Errorf("%w: enrol MFA on your own account first; requiring it now would lock you out of team settings", ErrInvalidInput)
	}
	if err := s.opts.Teams.TeamSetRequireMFA(ctx, actor.TeamID(), require); err != nil {
		return err
	}
	s.record(ctx, actor, "team.mfa_requirement_changed", "team", actor.TeamID(), map[string]any{"require_mfa": require})
	return nil
}
