package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

// SessionCookie is the name of the session cookie (the OpenAPI document
// declares it, so it is httpapi's).
const SessionCookie = httpapi.SessionCookie

// CSRFHeader carries the CSRF token on cookie-authenticated writes.
const CSRFHeader = httpapi.CSRFHeader

// Middleware resolves the caller from a bearer token or the session cookie
// and puts the Principal, the team and the audit request details in the
// request's context. It refuses nothing: each route's Authorize does.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the API needs to know the caller: the web UI's files, probes
		// and metrics are public, and looking a session up for each asset
		// would cost a database read per file.
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		ctx := audit.WithRequest(r.Context(), audit.Request{
			IP: clientIP(r), UserAgent: r.UserAgent(), RequestID: httpapi.RequestID(r.Context()),
		})
		var (
			p   *Principal
			err error
		)
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if strings.EqualFold(scheme, "Bearer") {
				p, err = s.ResolveToken(ctx, strings.TrimSpace(token))
			}
		} else if c, cerr := r.Cookie(SessionCookie); cerr == nil {
			p, err = s.ResolveSession(ctx, c.Value)
		}
		if err != nil && !errors.Is(err, ErrUnauthenticated) {
			s.opts.Logger.Error("resolving credentials failed", "err", err, "request_id", httpapi.RequestID(ctx))
		}
		if p != nil {
			ctx = team.WithTeam(WithPrincipal(ctx, p), p.TeamID())
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// clientIP is the peer address. X-Forwarded-For is not trusted: behind a
// proxy, the proxy's address is recorded (configure the proxy to log clients).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Authorize is the seed's require_permission, installed on the router: the
// caller must be signed in, hold perm in their role, have enrolled MFA if
// their team requires it, and send the CSRF token on cookie-authenticated
// writes.
func (s *Service) Authorize(r *http.Request, perm rbac.Permission) (int, string) {
	if perm == rbac.Public {
		return 0, ""
	}
	p := PrincipalFrom(r.Context())
	if p == nil {
		return http.StatusUnauthorized, "sign in first"
	}
	if p.ViaCookie() && !safeMethod(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRFToken)) != 1 {
			return http.StatusForbidden, "missing or wrong " + CSRFHeader + " header (GET /api/v1/auth/me returns the token)"
		}
	}
	if p.PasswordChangePending && perm != rbac.AccountSelf {
		return http.StatusForbidden, "you signed in with a one-time password: change it in your account settings first"
	}
	if p.MFAPending && perm != rbac.AccountSelf {
		return http.StatusForbidden, "your team requires multi-factor authentication: enrol it in your account settings first"
	}
	if !rbac.Has(p.Role, perm) {
		return http.StatusForbidden, fmt.Sprintf("role %s lacks the permission %s", p.Role, perm)
	}
	return 0, ""
}

// mustPrincipal is for handlers behind Authorize, which guarantees a caller.
func mustPrincipal(ctx context.Context) *Principal {
	p := PrincipalFrom(ctx)
	if p == nil {
		panic("auth: handler reached without a principal; is its permission Public?")
	}
	return p
}

// toHTTP maps service errors to API errors.
func (s *Service) toHTTP(err error) error {
	var locked LockedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &locked):
		secs := int(time.Until(locked.Until).Seconds()) + 1
		if secs < 1 {
			secs = 1
		}
		return huma.ErrorWithHeaders(huma.Error429TooManyRequests("too many failed sign-ins for this email; try again later"),
			http.Header{"Retry-After": []string{strconv.Itoa(secs)}})
	case errors.Is(err, ErrInvalidCredentials):
		return huma.Error401Unauthorized("invalid email or password")
	case errors.Is(err, ErrMFARequired):
		return huma.Error401Unauthorized(ErrMFARequired.Error(), &huma.ErrorDetail{Location: "body.otp", Message: "mfa_required"})
	case errors.Is(err, ErrBusy):
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable(ErrBusy.Error()), http.Header{"Retry-After": []string{"1"}})
	case errors.Is(err, ErrWeakPassword), errors.Is(err, ErrInvalidInput):
		return huma.Error422UnprocessableEntity(strings.TrimPrefix(err.Error(), ErrInvalidInput.Error()+": "))
	case errors.Is(err, ErrForbidden):
		return huma.Error403Forbidden(strings.TrimPrefix(err.Error(), ErrForbidden.Error()+": "))
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, db.ErrConflict):
		return huma.Error409Conflict("already exists")
	case db.IsInvalidText(err):
		return huma.Error400BadRequest("text in the request may not contain a NUL character (U+0000)")
	}
	s.opts.Logger.Error("internal error", "err", err)
	return huma.Error500InternalServerError("internal error")
}
