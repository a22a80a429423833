package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

// TenantResourceKey names, in an operation's metadata, the kind of
// tenant-scoped object its {id} path parameter points at. The team isolation
// test creates one of each kind in another team and expects 404.
const TenantResourceKey = "tenant_resource"

// Me is the caller as GET /api/v1/auth/me shows them.
type Me struct {
	User        User              `json:"user"`
	Team        team.Team         `json:"team"`
	Role        rbac.Role         `json:"role"`
	Permissions []rbac.Permission `json:"permissions"`
	// CSRFToken must be sent back in X-CSRF-Token on every cookie-authenticated write.
	CSRFToken             string `json:"csrf_token,omitempty"`
	MFAEnrollmentRequired bool   `json:"mfa_enrollment_required"`
	// PasswordChangeRequired: signed in with a one-time password, which must
	// be changed before anything but the account's own routes answers.
	PasswordChangeRequired bool   `json:"password_change_required"`
	AuthMethod             string `json:"auth_method" enum:"session,token"`
}

type loginInput struct {
	Body struct {
		Email        string `json:"email" maxLength:"320"`
		Password     string `json:"password" maxLength:"1024"`
		OTP          string `json:"otp,omitempty" maxLength:"16" doc:"TOTP code, when the account has MFA."`
		RecoveryCode string `json:"recovery_code,omitempty" maxLength:"32" doc:"One-time recovery code, instead of a TOTP code."`
	}
}

type loginOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      struct {
		User      User      `json:"user"`
		ExpiresAt time.Time `json:"expires_at"`
		CSRFToken string    `json:"csrf_token"`
	}
}

type meOutput struct{ Body Me }

type emptyOutput struct{}

type logoutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

type idInput struct {
	ID string `path:"id" maxLength:"64"`
}

type sessionsOutput struct {
	Body struct {
		Sessions []Session `json:"sessions"`
		Current  string    `json:"current,omitempty" doc:"ID of the session making this request."`
	}
}

type passwordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password" maxLength:"1024"`
		NewPassword     string `json:"new_password" maxLength:"1024"`
	}
}

type tokenCreateInput struct {
	Body struct {
		Name          string `json:"name" minLength:"1" maxLength:"100"`
		ExpiresInDays int    `json:"expires_in_days" minimum:"1" maximum:"366" doc:"Lifetime in days."`
	}
}

type tokenCreateOutput struct {
	Body struct {
		Token  APIToken `json:"token"`
		Secret string   `json:"secret" doc:"The bearer token. Shown only now: store it."`
	}
}

type tokensOutput struct {
	Body struct {
		Tokens []APIToken `json:"tokens"`
	}
}

type mfaEnrollOutput struct{ Body MFAEnrollment }

type mfaConfirmInput struct {
	Body struct {
		Code string `json:"code" maxLength:"16"`
	}
}

type mfaConfirmOutput struct {
	Body struct {
		RecoveryCodes []string `json:"recovery_codes" doc:"Ten single-use codes for when the device is lost. Shown only now."`
	}
}

type mfaDisableInput struct {
	Body struct {
		Password string `json:"password" maxLength:"1024"`
	}
}

type usersOutput struct {
	Body struct {
		Users []User `json:"users"`
	}
}

type userOutput struct{ Body User }

type userCreateInput struct {
	Body struct {
		Email    string    `json:"email" maxLength:"254"`
		Role     rbac.Role `json:"role" enum:"ADMIN,SECURITY_MANAGER,SECURITY_ANALYST,COMPLIANCE_OFFICER,AUDITOR,VIEWER"`
		Password string    `json:"password,omitempty" maxLength:"1024" doc:"Omit to have a one-time password generated."`
	}
}

type userCreateOutput struct {
	Body struct {
		User            User   `json:"user"`
		OneTimePassword string `json:"one_time_password,omitempty" doc:"Generated password, shown only now."`
	}
}

type userPatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Role     *rbac.Role `json:"role,omitempty" enum:"ADMIN,SECURITY_MANAGER,SECURITY_ANALYST,COMPLIANCE_OFFICER,AUDITOR,VIEWER"`
		Disabled *bool      `json:"disabled,omitempty"`
	}
}

type passwordResetOutput struct {
	Body struct {
		OneTimePassword string `json:"one_time_password" doc:"Shown only now; the user's sessions were ended."`
	}
}

type revokedOutput struct {
	Body struct {
		Revoked int `json:"revoked"`
	}
}

type teamOutput struct{ Body team.Team }

type teamPatchInput struct {
	Body struct {
		RequireMFA   *bool `json:"require_mfa,omitempty"`
		MaxTokenDays *int  `json:"max_token_days,omitempty" minimum:"1" maximum:"366" doc:"The longest a new API token may live, in days."`
	}
}

type auditInput struct {
	Action  string    `query:"action" maxLength:"100" doc:"Exact action, or a prefix ending in '.', such as auth."`
	ActorID string    `query:"actor_id" maxLength:"64"`
	Outcome string    `query:"outcome" enum:"success,failure,denied,"`
	Since   time.Time `query:"since"`
	Until   time.Time `query:"until"`
	Before  int64     `query:"before" minimum:"0" doc:"Cursor: return events older than this ID."`
	Limit   int       `query:"limit" minimum:"0" maximum:"500" default:"100"`
}

type auditOutput struct {
	Body struct {
		Events     []audit.Event `json:"events"`
		NextBefore int64         `json:"next_before,omitempty" doc:"Pass as before= for the next page."`
	}
}

func (s *Service) cookie(value string, maxAge int) http.Cookie {
	// Secure is configurable only for plain-HTTP development (cookie_secure).
	return http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: s.opts.CookieSecure, //nolint:gosec // G124: Secure follows cookie_secure, default true
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
}

func (s *Service) me(ctx context.Context, p *Principal) (Me, error) {
	t, err := s.opts.Teams.TeamGet(ctx, p.TeamID())
	if err != nil {
		return Me{}, err
	}
	m := Me{User: p.User, Team: t, Role: p.Role, Permissions: rbac.Permissions(p.Role), CSRFToken: p.CSRFToken,
		MFAEnrollmentRequired: p.MFAPending, PasswordChangeRequired: p.PasswordChangePending, AuthMethod: "session"}
	if p.TokenID != "" {
		m.AuthMethod = "token"
	}
	return m, nil
}

// RegisterRoutes adds the identity API: sign-in, the caller's own account,
// team administration and the audit log.
func (s *Service) RegisterRoutes(r *httpapi.Router, auditLog *audit.Log) {
	op := func(id, method, path, summary, tag string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag}}
	}
	withTenant := func(o huma.Operation, kind string) huma.Operation {
		o.Metadata = map[string]any{TenantResourceKey: kind}
		return o
	}

	login := op("login", http.MethodPost, "/api/v1/auth/login", "Sign in with email and password (and a TOTP code when enrolled)", "Authentication")
	login.Description = "Answers 401 with one message for any wrong email, password or code, and 429 with Retry-After while the email is locked out."
	httpapi.Register(r, login, rbac.Public, func(ctx context.Context, in *loginInput) (*loginOutput, error) {
		a := audit.RequestFrom(ctx)
		res, err := s.AuthenticateUser(ctx, LoginParams{Email: in.Body.Email, Password: in.Body.Password,
			OTP: in.Body.OTP, RecoveryCode: in.Body.RecoveryCode, IP: a.IP, UserAgent: a.UserAgent})
		if err != nil {
			return nil, s.toHTTP(err)
		}
		out := &loginOutput{SetCookie: s.cookie(res.Token, int(s.opts.MaxAge.Seconds()))}
		out.Body.User, out.Body.ExpiresAt, out.Body.CSRFToken = res.User, res.Session.ExpiresAt, res.Session.CSRFToken
		return out, nil
	})

	httpapi.Register(r, op("logout", http.MethodPost, "/api/v1/auth/logout", "End the current session", "Authentication"),
		rbac.AccountSelf, func(ctx context.Context, _ *struct{}) (*logoutOutput, error) {
			if err := s.Logout(ctx, mustPrincipal(ctx)); err != nil {
				return nil, s.toHTTP(err)
			}
			return &logoutOutput{SetCookie: s.cookie("", -1)}, nil
		})

	httpapi.Register(r, op("get-me", http.MethodGet, "/api/v1/auth/me", "The caller: user, team, role, permissions and CSRF token", "Authentication"),
		rbac.AccountSelf, func(ctx context.Context, _ *struct{}) (*meOutput, error) {
			m, err := s.me(ctx, mustPrincipal(ctx))
			if err != nil {
				return nil, s.toHTTP(err)
			}
			return &meOutput{Body: m}, nil
		})

	httpapi.Register(r, op("change-password", http.MethodPost, "/api/v1/auth/password", "Change your password (ends your other sessions and revokes your API tokens)", "Account"),
		rbac.AccountSelf, func(ctx context.Context, in *passwordInput) (*emptyOutput, error) {
			return &emptyOutput{}, s.toHTTP(s.ChangePassword(ctx, mustPrincipal(ctx), in.Body.CurrentPassword, in.Body.NewPassword))
		})

	httpapi.Register(r, op("list-sessions", http.MethodGet, "/api/v1/auth/sessions", "Your sessions", "Account"),
		rbac.AccountSelf, func(ctx context.Context, _ *struct{}) (*sessionsOutput, error) {
			p := mustPrincipal(ctx)
			list, err := s.SessionList(ctx, p)
			if err != nil {
				return nil, s.toHTTP(err)
			}
			out := &sessionsOutput{}
			out.Body.Sessions = list
			if p.Session != nil {
				out.Body.Current = p.Session.ID
			}
			return out, nil
		})

	httpapi.Register(r, withTenant(op("revoke-session", http.MethodDelete, "/api/v1/auth/sessions/{id}", "End one of your sessions", "Account"), "session"),
		rbac.AccountSelf, func(ctx context.Context, in *idInput) (*emptyOutput, error) {
			return &emptyOutput{}, s.toHTTP(s.SessionRevoke(ctx, mustPrincipal(ctx), in.ID))
		})

	httpapi.Register(r, op("list-tokens", http.MethodGet, "/api/v1/auth/tokens", "Your API tokens", "Account"),
		rbac.AccountSelf, func(ctx context.Context, _ *struct{}) (*tokensOutput, error) {
			list, err := s.TokenList(ctx, mustPrincipal(ctx))
			if err != nil {
				return nil, s.toHTTP(err)
			}
			out := &tokensOutput{}
			out.Body.Tokens = list
			return out, nil
		})

	createToken := op("create-token", http.MethodPost, "/api/v1/auth/tokens", "Create an API token for yourself", "Account")
	createToken.DefaultStatus = http.StatusCreated
	httpapi.Register(r, createToken, rbac.AccountSelf, func(ctx context.Context, in *tokenCreateInput) (*tokenCreateOutput, error) {
		t, secret, err := s.TokenCreate(ctx, mustPrincipal(ctx), TokenCreateParams{Name: in.Body.Name,
			ExpiresIn: time.Duration(in.Body.ExpiresInDays) * 24 * time.Hour})
		if err != nil {
			return nil, s.toHTTP(err)
		}
		out := &tokenCreateOutput{}
		out.Body.Token, out.Body.Secret = t, secret
		return out, nil
	})

	httpapi.Register(r, withTenant(op("revoke-token", http.MethodDelete, "/api/v1/auth/tokens/{id}", "Revoke one of your API tokens", "Account"), "token"),
		rbac.AccountSelf, func(ctx context.Context, in *idInput) (*emptyOutput, error) {
			return &emptyOutput{}, s.toHTTP(s.TokenRevoke(ctx, mustPrincipal(ctx), in.ID))
		})

	httpapi.Register(r, op("mfa-enroll", http.MethodPost, "/api/v1/auth/mfa/enroll", "Start TOTP enrolment: secret and QR code", "Account"),
		rbac.AccountSelf, func(ctx context.Context, _ *struct{}) (*mfaEnrollOutput, error) {
			e, err := s.MFAEnroll(ctx, mustPrincipal(ctx))
			if err != nil {
				return nil, s.toHTTP(err)
			}
			return &mfaEnrollOutput{Body: e}, nil
		})

	httpapi.Register(r, op("mfa-confirm", http.MethodPost, "/api/v1/auth/mfa/confirm", "Confirm TOTP enrolment with a code; returns recovery codes", "Account"),
		rbac.AccountSelf, func(ctx context.Context, in *mfaConfirmInput) (*mfaConfirmOutput, error) {
			codes, err := s.MFAConfirm(ctx, mustPrincipal(ctx), in.Body.Code)
			if err != nil {
				return nil, s.toHTTP(err)
			}
			out := &mfaConfirmOutput{}
			out.Body.RecoveryCodes = codes
			return out, nil
		})

	httpapi.Register(r, op("mfa-disable", http.MethodPost, "/api/v1/auth/mfa/disable", "Remove MFA (needs your password)", "Account"),
		rbac.AccountSelf, func(ctx context.Context, in *mfaDisableInput) (*emptyOutput, error) {
			return &emptyOutput{}, s.toHTTP(s.MFADisable(ctx, mustPrincipal(ctx), in.Body.Password))
		})

	httpapi.Register(r, op("get-team", http.MethodGet, "/api/v1/team", "Your team and its settings", "Team administration"),
		rbac.AccountSelf, func(ctx context.Context, _ *struct{}) (*teamOutput, error) {
			t, err := s.opts.Teams.TeamGet(ctx, mustPrincipal(ctx).TeamID())
			if err != nil {
				return nil, s.toHTTP(err)
			}
			return &teamOutput{Body: t}, nil
		})

	httpapi.Register(r, op("update-team", http.MethodPatch, "/api/v1/team", "Change team settings (require MFA, API token lifetime)", "Team administration"),
		rbac.TeamManage, func(ctx context.Context, in *teamPatchInput) (*teamOutput, error) {
			p := mustPrincipal(ctx)
			if in.Body.RequireMFA != nil {
				if err := s.TeamSetRequireMFA(ctx, p, *in.Body.RequireMFA); err != nil {
					return nil, s.toHTTP(err)
				}
			}
			if in.Body.MaxTokenDays != nil {
				if err := s.TeamSetMaxTokenDays(ctx, p, *in.Body.MaxTokenDays); err != nil {
					return nil, s.toHTTP(err)
				}
			}
			t, err := s.opts.Teams.TeamGet(ctx, p.TeamID())
			return &teamOutput{Body: t}, s.toHTTP(err)
		})

	httpapi.Register(r, op("list-users", http.MethodGet, "/api/v1/users", "Users of your team", "Team administration"),
		rbac.UsersRead, func(ctx context.Context, _ *struct{}) (*usersOutput, error) {
			list, err := s.users.UserList(ctx, mustPrincipal(ctx).TeamID())
			if err != nil {
				return nil, s.toHTTP(err)
			}
			out := &usersOutput{}
			out.Body.Users = list
			return out, nil
		})

	createUser := op("create-user", http.MethodPost, "/api/v1/users", "Add a user to your team", "Team administration")
	createUser.DefaultStatus = http.StatusCreated
	httpapi.Register(r, createUser, rbac.UsersManage, func(ctx context.Context, in *userCreateInput) (*userCreateOutput, error) {
		p := mustPrincipal(ctx)
		u, pw, err := s.UserCreate(ctx, p, p.TeamID(), UserCreateRequest{Email: in.Body.Email, Role: in.Body.Role, Password: in.Body.Password})
		if err != nil {
			return nil, s.toHTTP(err)
		}
		out := &userCreateOutput{}
		out.Body.User, out.Body.OneTimePassword = u, pw
		return out, nil
	})

	httpapi.Register(r, withTenant(op("get-user", http.MethodGet, "/api/v1/users/{id}", "One user of your team", "Team administration"), "user"),
		rbac.UsersRead, func(ctx context.Context, in *idInput) (*userOutput, error) {
			u, err := s.users.UserGet(ctx, mustPrincipal(ctx).TeamID(), in.ID)
			if err != nil {
				return nil, s.toHTTP(err)
			}
			return &userOutput{Body: u}, nil
		})

	httpapi.Register(r, withTenant(op("update-user", http.MethodPatch, "/api/v1/users/{id}", "Change a user's role, or disable or enable them", "Team administration"), "user"),
		rbac.UsersManage, func(ctx context.Context, in *userPatchInput) (*userOutput, error) {
			u, err := s.UserChange(ctx, mustPrincipal(ctx), in.ID, UserUpdate{Role: in.Body.Role, Disabled: in.Body.Disabled})
			if err != nil {
				return nil, s.toHTTP(err)
			}
			return &userOutput{Body: u}, nil
		})

	httpapi.Register(r, withTenant(op("reset-user-password", http.MethodPost, "/api/v1/users/{id}/reset-password", "Give a user a one-time password and end their sessions", "Team administration"), "user"),
		rbac.UsersManage, func(ctx context.Context, in *idInput) (*passwordResetOutput, error) {
			pw, err := s.UserResetPassword(ctx, mustPrincipal(ctx), in.ID)
			if err != nil {
				return nil, s.toHTTP(err)
			}
			out := &passwordResetOutput{}
			out.Body.OneTimePassword = pw
			return out, nil
		})

	httpapi.Register(r, withTenant(op("revoke-user-sessions", http.MethodDelete, "/api/v1/users/{id}/sessions", "Sign a user out everywhere: end every session and revoke every API token", "Team administration"), "user"),
		rbac.UsersManage, func(ctx context.Context, in *idInput) (*revokedOutput, error) {
			n, err := s.UserRevokeSessions(ctx, mustPrincipal(ctx), in.ID)
			if err != nil {
				return nil, s.toHTTP(err)
			}
			out := &revokedOutput{}
			out.Body.Revoked = n
			return out, nil
		})

	httpapi.Register(r, op("list-audit-events", http.MethodGet, "/api/v1/audit", "The team's audit log, newest first", "Audit"),
		rbac.AuditRead, func(ctx context.Context, in *auditInput) (*auditOutput, error) {
			events, err := auditLog.EventList(ctx, audit.ListParams{TeamID: mustPrincipal(ctx).TeamID(), Action: in.Action,
				ActorID: in.ActorID, Outcome: audit.Outcome(in.Outcome), Since: in.Since, Until: in.Until, Before: in.Before, Limit: in.Limit})
			if err != nil {
				return nil, s.toHTTP(err)
			}
			out := &auditOutput{}
			out.Body.Events = events
			if in.Limit > 0 && len(events) == in.Limit {
				out.Body.NextBefore = events[len(events)-1].ID
			}
			return out, nil
		})
}
