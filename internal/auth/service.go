package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/secrets"
	"github.com/offloadsecurity/cspm/internal/team"
)

// Errors the HTTP layer maps to answers. Login failures are deliberately one
// error: wrong email, wrong password, disabled user and wrong code all read
// the same.
var (
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrMFARequired        = errors.New("a one-time code from your authenticator app is required")
	ErrUnauthenticated    = errors.New("not signed in")
	ErrForbidden          = errors.New("forbidden")
)

// LockedError means the email is locked out until Until.
type LockedError struct{ Until time.Time }

func (e LockedError) Error() string {
	return "too many failed sign-ins; try again after " + e.Until.UTC().Format(time.RFC3339)
}

// Options configures the Service.
type Options struct {
	Registry     *db.Registry
	Sessions     SessionStore
	Lockouts     LockoutStore
	Hasher       *Hasher
	Box          *secrets.Box
	Audit        *audit.Log
	Teams        *team.Store
	Logger       *slog.Logger
	Lockout      LockoutPolicy
	IdleTimeout  time.Duration
	MaxAge       time.Duration
	CookieSecure bool
	// Now is the clock; tests stub it.
	Now func() time.Time
}

// MaxFailedLoginAttempts is the seed's default for Options.Lockout.MaxFailures.
const MaxFailedLoginAttempts = 5

// Service is the seed's auth_service.
type Service struct {
	opts      Options
	users     *UserStore
	tokens    *TokenStore
	recovery  *recoveryStore
	dummyHash string
}

// touchEvery throttles last-seen writes: activity within it is not recorded
// again, which keeps a busy UI from writing on every request.
const touchEvery = time.Minute

// sessionTouchEvery is touchEvery, or a quarter of the idle timeout when
// that is shorter: with a 30 s idle timeout and a minute between writes, a
// session in steady use expired between two of them.
func (s *Service) sessionTouchEvery() time.Duration {
	if q := s.opts.IdleTimeout / 4; q > 0 && q < touchEvery {
		return q
	}
	return touchEvery
}

// NewService returns the authentication service.
func NewService(o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lockout.MaxFailures == 0 {
		o.Lockout.MaxFailures = MaxFailedLoginAttempts
	}
	d := o.Registry.Get(db.Platform)
	// Unknown emails are verified against this hash so that they cost the
	// same PBKDF2 work as known ones.
	dummy, err := unverifiableHash(PBKDF2Iterations)
	if err != nil {
		return nil, err
	}
	return &Service{opts: o, users: &UserStore{d: d}, tokens: &TokenStore{d: d}, recovery: &recoveryStore{d: d}, dummyHash: dummy}, nil
}

// Users returns the user store.
func (s *Service) Users() *UserStore { return s.users }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LoginParams is a sign-in attempt.
type LoginParams struct {
	Email, Password string
	// OTP is a TOTP code; RecoveryCode a one-time recovery code. One of them
	// is needed when the user has MFA.
	OTP, RecoveryCode string
	IP, UserAgent     string
}

// LoginResult is a successful sign-in.
type LoginResult struct {
	Token   string // the cookie value; shown to nobody else
	Session Session
	User    User
}

// AuthenticateUser is the seed's authenticate_user. Every path through it
// does the same work (lockout check, user lookup, one PBKDF2 verification,
// failure count, audit) so that status, body and time do not tell whether an
// email exists.
func (s *Service) AuthenticateUser(ctx context.Context, p LoginParams) (LoginResult, error) {
	key := NormalizeEmail(p.Email)
	now := s.opts.Now()
	user, lookupErr := s.users.userGetByEmail(ctx, key)
	if lookupErr != nil && !errors.Is(lookupErr, db.ErrNotFound) {
		return LoginResult{}, lookupErr
	}
	known := lookupErr == nil
	ev := audit.Event{TeamID: user.TeamID, ActorID: user.ID, ActorEmail: key, Action: "auth.login", TargetType: "user", TargetID: user.ID}

	locked := func(until time.Time) (LoginResult, error) {
		ev.Outcome, ev.Details = audit.Denied, map[string]any{"reason": "locked"}
		_ = s.opts.Audit.Record(ctx, ev)
		return LoginResult{}, LockedError{Until: until}
	}
	// The attempt is reserved on the email and on the source address before
	// the hash, so that parallel guesses count before any of them is checked.
	n, until, err := s.opts.Lockouts.LockoutReserve(ctx, key, now, s.opts.Lockout)
	if err != nil {
		return LoginResult{}, err
	}
	if n > s.opts.Lockout.MaxFailures {
		return locked(until)
	}
	addrKey, addrPolicy := "", s.opts.Lockout
	if p.IP != "" && addrPolicy.MaxFailuresPerAddress > 0 {
		addrKey, addrPolicy.MaxFailures = "addr "+p.IP, addrPolicy.MaxFailuresPerAddress
		an, auntil, err := s.opts.Lockouts.LockoutReserve(ctx, addrKey, now, addrPolicy)
		if err != nil {
			return LoginResult{}, err
		}
		if an > addrPolicy.MaxFailures {
			// The email's attempt was never checked: give it back, so a
			// flood from one address cannot lock out a user elsewhere.
			_ = s.opts.Lockouts.LockoutRefund(ctx, key, s.opts.Lockout)
			return locked(auntil)
		}
	}
	// refund gives both attempts back: the password proved right, or was
	// never checked.
	refund := func() {
		if err := s.opts.Lockouts.LockoutRefund(ctx, key, s.opts.Lockout); err != nil {
			s.opts.Logger.Warn("lockout refund failed", "err", err)
		}
		if addrKey != "" {
			if err := s.opts.Lockouts.LockoutRefund(ctx, addrKey, addrPolicy); err != nil {
				s.opts.Logger.Warn("lockout refund failed", "err", err)
			}
		}
	}

	hash := s.dummyHash
	if known {
		hash = user.passwordHash
	}
	ok, rehash, err := s.opts.Hasher.Verify(ctx, p.Password, hash)
	if errors.Is(err, ErrBusy) {
		refund()
		return LoginResult{}, err
	}
	ok = ok && err == nil && known && !user.Disabled
	reason := "bad_password"
	switch {
	case !known:
		reason = "unknown_email"
	case user.Disabled:
		reason = "disabled"
	}

	if ok && user.MFAEnabled {
		switch {
		case p.OTP == "" && p.RecoveryCode == "":
			// The password was right; the second step will count again.
			refund()
			return LoginResult{}, ErrMFARequired
		case p.OTP != "":
			ok, err = s.checkTOTP(ctx, user, p.OTP, now)
			if err != nil {
				return LoginResult{}, err
			}
			reason = "bad_otp"
		default:
			ok, err = s.recovery.consume(ctx, user.TeamID, user.ID, hashToken(normalizeRecovery(p.RecoveryCode)), now)
			if err != nil {
				return LoginResult{}, err
			}
			if ok {
				_ = s.opts.Audit.Record(ctx, audit.Event{TeamID: user.TeamID, ActorID: user.ID, ActorEmail: user.Email,
					Action: "auth.mfa_recovery_code_used", TargetType: "user", TargetID: user.ID})
			}
			reason = "bad_recovery_code"
		}
	}

	if !ok {
		ev.Outcome, ev.Details = audit.Failure, map[string]any{"reason": reason}
		_ = s.opts.Audit.Record(ctx, ev)
		if n >= s.opts.Lockout.MaxFailures {
			_ = s.opts.Audit.Record(ctx, audit.Event{TeamID: user.TeamID, ActorEmail: key, Action: "auth.lockout",
				TargetType: "user", TargetID: user.ID, Outcome: audit.Denied,
				Details: map[string]any{"until": until.UTC().Format(time.RFC3339), "failures": s.opts.Lockout.MaxFailures}})
		}
		return LoginResult{}, ErrInvalidCredentials
	}

	if err := s.opts.Lockouts.LockoutReset(ctx, key); err != nil {
		return LoginResult{}, err
	}
	if addrKey != "" {
		if err := s.opts.Lockouts.LockoutRefund(ctx, addrKey, addrPolicy); err != nil {
			return LoginResult{}, err
		}
	}
	if rehash {
		// verify_password_secure's upgrade: rewrite a legacy hash now that we
		// know the password.
		if newHash, err := s.opts.Hasher.Hash(ctx, p.Password); err == nil {
			if err := s.users.UserSetPassword(ctx, user.TeamID, user.ID, newHash, user.PasswordChangeRequired); err != nil {
				s.opts.Logger.Warn("rehash on login failed", "user_id", user.ID, "err", err)
			} else {
				_ = s.opts.Audit.Record(ctx, audit.Event{TeamID: user.TeamID, ActorID: user.ID, ActorEmail: user.Email,
					Action: "auth.password_rehashed", TargetType: "user", TargetID: user.ID,
					Details: map[string]any{"iterations": PBKDF2Iterations}})
			}
		}
	}
	// The session starts now, not when the attempt began: the hash took a
	// while, and a short idle timeout would otherwise count it.
	token, sess, err := s.newSession(ctx, user, p.IP, p.UserAgent, s.opts.Now())
	if err != nil {
		return LoginResult{}, err
	}
	ev.Outcome, ev.Details = audit.Success, map[string]any{"session_id": sess.ID, "mfa": user.MFAEnabled}
	_ = s.opts.Audit.Record(ctx, ev)
	return LoginResult{Token: token, Session: sess, User: user}, nil
}

func (s *Service) newSession(ctx context.Context, u User, ip, ua string, now time.Time) (string, Session, error) {
	token := id.Token(32)
	sess := Session{
		ID: id.New(), TokenHash: hashToken(token), UserID: u.ID, TeamID: u.TeamID, CSRFToken: id.Token(32),
		CreatedAt: now.UTC(), LastSeenAt: now.UTC(), ExpiresAt: now.Add(s.opts.MaxAge).UTC(),
		IP: ip, UserAgent: truncate(ua, 256),
	}
	if err := s.opts.Sessions.SessionCreate(ctx, sess); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return token, sess, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Principal is who is calling: the user, their team and role, and how they
// signed in.
type Principal struct {
	User      User
	Role      rbac.Role
	Session   *Session // nil for API tokens
	TokenID   string   // set for API tokens
	CSRFToken string
	// MFAPending: the team requires MFA and this user has not enrolled; only
	// their own account routes are open until they do.
	MFAPending bool
	// PasswordChangePending: the user signed in with a one-time password;
	// only their own account routes are open until they replace it.
	PasswordChangePending bool
}

// TeamID is the caller's team.
func (p *Principal) TeamID() string { return p.User.TeamID }

// AuditActor is an audit event naming the principal as its actor; the
// caller fills in what happened.
func (p *Principal) AuditActor() audit.Event {
	return audit.Event{TeamID: p.TeamID(), ActorID: p.User.ID, ActorEmail: p.User.Email}
}

// ViaCookie reports whether the caller used a session cookie (and so needs CSRF protection).
func (p *Principal) ViaCookie() bool { return p.Session != nil }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// ResolveSession turns a session cookie into a Principal. An expired
// session is deleted; a disabled user's sessions are all revoked.
func (s *Service) ResolveSession(ctx context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrUnauthenticated
	}
	sess, err := s.opts.Sessions.SessionGetByTokenHash(ctx, hashToken(token))
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > s.opts.IdleTimeout {
		_ = s.opts.Sessions.SessionDelete(ctx, sess)
		return nil, ErrUnauthenticated
	}
	p, err := s.principalFor(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if p.User.TeamID != sess.TeamID {
		return nil, ErrUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) > s.sessionTouchEvery() {
		if err := s.opts.Sessions.SessionTouch(ctx, sess, now); err != nil {
			s.opts.Logger.Warn("session touch failed", "err", err)
		}
		sess.LastSeenAt = now.UTC()
	}
	p.Session, p.CSRFToken = &sess, sess.CSRFToken
	return p, nil
}

// tokenPrefix marks cspm API tokens, so that secret scanners can find leaked ones.
const tokenPrefix = "cspm_"

// ResolveToken turns a bearer API token into a Principal.
func (s *Service) ResolveToken(ctx context.Context, token string) (*Principal, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return nil, ErrUnauthenticated
	}
	t, err := s.tokens.tokenGetByHash(ctx, hashToken(token))
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	if t.RevokedAt != nil || !now.Before(t.ExpiresAt) {
		return nil, ErrUnauthenticated
	}
	p, err := s.principalFor(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	if p.User.TeamID != t.TeamID {
		return nil, ErrUnauthenticated
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > touchEvery {
		if err := s.tokens.tokenTouch(ctx, t, now); err != nil {
			s.opts.Logger.Warn("token touch failed", "err", err)
		}
	}
	p.TokenID = t.ID
	return p, nil
}

func (s *Service) principalFor(ctx context.Context, userID string) (*Principal, error) {
	u, err := s.users.userGetAny(ctx, userID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || !u.Role.Valid() {
		return nil, ErrUnauthenticated
	}
	p := &Principal{User: u, Role: u.Role, PasswordChangePending: u.PasswordChangeRequired}
	if !u.MFAEnabled {
		t, err := s.opts.Teams.TeamGet(ctx, u.TeamID)
		if err != nil {
			return nil, err
		}
		p.MFAPending = t.RequireMFA
	}
	return p, nil
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.Session == nil {
		return nil
	}
	err := s.opts.Sessions.SessionDelete(ctx, *p.Session)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	ev := p.AuditActor()
	ev.Action, ev.TargetType, ev.TargetID = "auth.logout", "session", p.Session.ID
	return s.opts.Audit.Record(ctx, ev)
}

// CleanupExpiredSessions removes sessions past their idle or absolute expiry.
func (s *Service) CleanupExpiredSessions(ctx context.Context) (int, error) {
	now := s.opts.Now()
	return s.opts.Sessions.SessionDeleteExpired(ctx, now, now.Add(-s.opts.IdleTimeout))
}
