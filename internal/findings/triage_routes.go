package findings

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// UserDirectory is what triage needs of the team's users: the assignee
// must be one (auth.UserStore).
type UserDirectory interface {
	UserGet(ctx context.Context, teamID, userID string) (auth.User, error)
	UserList(ctx context.Context, teamID string) ([]auth.User, error)
}

// CanApproveRisk reports whether role may approve or reject risk
// acceptances (another person's only): ADMIN, SECURITY_MANAGER and
// COMPLIANCE_OFFICER hold findings:approve_risk.
func CanApproveRisk(role rbac.Role) bool { return rbac.Has(role, rbac.FindingsApproveRisk) }

// FilterBody is the list's filter as a JSON object (the names of the
// list's query parameters).
type FilterBody struct {
	Severity             []string `json:"severity,omitempty"`
	Status               []string `json:"status,omitempty"`
	Result               []string `json:"result,omitempty"`
	Provider             []string `json:"provider,omitempty"`
	Tool                 []string `json:"tool,omitempty"`
	Account              []string `json:"account,omitempty"`
	Region               []string `json:"region,omitempty"`
	Service              []string `json:"service,omitempty"`
	Check                []string `json:"check,omitempty"`
	Resource             string   `json:"resource,omitempty" maxLength:"500"`
	Scan                 string   `json:"scan,omitempty" maxLength:"64"`
	Text                 string   `json:"q,omitempty" maxLength:"500"`
	Assignee             []string `json:"assignee,omitempty"`
	Triage               []string `json:"triage,omitempty"`
	NewSincePreviousScan bool     `json:"new_since_previous_scan,omitempty"`
	BusinessTier         []int    `json:"business_tier,omitempty"`
}

func (f *FilterBody) params(teamID string) *ListParams {
	return &ListParams{TeamID: teamID, Severity: f.Severity, Status: f.Status, Result: f.Result, Provider: f.Provider, Tool: f.Tool,
		Account: f.Account, Region: f.Region, Service: f.Service, Check: f.Check, Resource: f.Resource, Scan: f.Scan, Text: f.Text,
		Assignee: f.Assignee, Triage: f.Triage, NewSincePreviousScan: f.NewSincePreviousScan, BusinessTier: f.BusinessTier}
}

type bulkInput struct {
	Body struct {
		Action     string      `json:"action" enum:"mute,accept_risk,reopen,triage,assign"`
		IDs        []int64     `json:"ids,omitempty" maxItems:"10000" doc:"The findings to act on; or give filter."`
		Filter     *FilterBody `json:"filter,omitempty" doc:"Act on every finding the list's filter matches (at most 10,000)."`
		Reason     string      `json:"reason,omitempty" maxLength:"1000" doc:"Required to mute, accept risk, or set a triage state."`
		Until      *time.Time  `json:"until,omitempty" doc:"When a mute or a risk acceptance ends."`
		State      string      `json:"state,omitempty" enum:"false_positive,out_of_scope,none," doc:"The triage state (action triage)."`
		AssigneeID string      `json:"assignee_id,omitempty" maxLength:"64" doc:"A user of the team (action assign); empty unassigns."`
	}
}

type bulkOutput struct{ Body BulkResult }

type triageInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		State  string `json:"state" enum:"false_positive,out_of_scope,none"`
		Reason string `json:"reason,omitempty" maxLength:"1000"`
	}
}

type assignInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		AssigneeID string `json:"assignee_id" maxLength:"64" doc:"A user of the team; empty unassigns."`
	}
}

type commentInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		Body string `json:"body" maxLength:"4000" doc:"At most 4,000 characters."`
	}
}

type commentOutput struct{ Body Comment }

type riskInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		Reason    string     `json:"reason" maxLength:"1000"`
		ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the acceptance ends; omit for no end."`
	}
}

type riskOutput struct{ Body RiskAcceptance }

type decideInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		Note string `json:"note,omitempty" maxLength:"1000"`
	}
}

type acceptancesInput struct {
	State string `query:"state" enum:"pending,approved,rejected,revoked,expired,"`
}

type acceptancesOutput struct {
	Body struct {
		RiskAcceptances []RiskAcceptance `json:"risk_acceptances"`
	}
}

// AssignableUser is a user of the team a finding can be assigned to.
type AssignableUser struct {
	ID    string    `json:"id"`
	Email string    `json:"email"`
	Role  rbac.Role `json:"role"`
}

type assigneesOutput struct {
	Body struct {
		Users []AssignableUser `json:"users"`
	}
}

type settingsOutput struct{ Body TriageSettings }

type settingsInput struct {
	Body struct {
		RiskAcceptanceRequiresApproval bool `json:"risk_acceptance_requires_approval"`
	}
}

func triageHTTP(err error) error {
	var many *TooManyError
	switch {
	case errors.As(err, &many):
		return huma.Error422UnprocessableEntity(err.Error())
	case errors.Is(err, ErrInvalidTriage), errors.Is(err, ErrInvalidRule):
		return huma.Error422UnprocessableEntity(err.Error())
	case errors.Is(err, ErrSelfApproval):
		return huma.Error403Forbidden(err.Error())
	case errors.Is(err, ErrNotPending):
		return huma.Error409Conflict(err.Error())
	}
	return toHTTP(err)
}

// assignee checks that userID is an active user of the team.
func assignee(ctx context.Context, users UserDirectory, teamID, userID string) (Assignee, error) {
	if userID == "" {
		return Assignee{}, nil
	}
	u, err := users.UserGet(ctx, teamID, userID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && u.Disabled) {
		return Assignee{}, huma.Error422UnprocessableEntity("assignee_id is not an active user of this team")
	}
	if err != nil {
		return Assignee{}, err
	}
	return Assignee{ID: u.ID, Email: u.Email}, nil
}

// RegisterTriageRoutes adds bulk actions, assignees, comments, triage
// states and risk acceptances; every change is audited.
func (s *Store) RegisterTriageRoutes(r *httpapi.Router, users UserDirectory) {
	tags := []string{"Findings"}
	finding := map[string]any{TenantResourceKey: "finding"}
	httpapi.Register(r, huma.Operation{OperationID: "bulk-findings", Method: http.MethodPost, Path: "/api/v1/findings/bulk",
		Summary: "Mute, accept risk, reopen, set a triage state or assign many findings", Tags: tags,
		Description: "On the findings named by ids, or on every finding the filter matches (the list's filter, at most 10,000: more is refused " +
			"with the count). Returns how many matched and how many changed."},
		rbac.FindingsTriage, func(ctx context.Context, in *bulkInput) (*bulkOutput, error) {
			p := auth.PrincipalFrom(ctx)
			b := in.Body
			if (len(b.IDs) == 0) == (b.Filter == nil) {
				return nil, huma.Error422UnprocessableEntity("give either ids or filter")
			}
			bp := BulkParams{TeamID: p.TeamID(), Actor: p.User.Email, IDs: b.IDs, Action: b.Action, Reason: b.Reason, Until: b.Until, State: b.State}
			if b.Filter != nil {
				bp.Filter = b.Filter.params(p.TeamID())
			}
			if b.Action == BulkAssign {
				to, err := assignee(ctx, users, p.TeamID(), b.AssigneeID)
				if err != nil {
					return nil, err
				}
				bp.To = to
			}
			res, err := s.FindingsBulk(ctx, bp)
			if err != nil {
				return nil, triageHTTP(err)
			}
			details := map[string]any{"action": b.Action, "matched": res.Matched, "changed": res.Changed, "reason": b.Reason,
				"until": b.Until, "state": b.State, "assignee_id": b.AssigneeID}
			if b.Filter != nil {
				details["filter"] = b.Filter
			} else {
				details["ids"] = b.IDs[:min(len(b.IDs), 100)]
			}
			s.record(ctx, "finding.bulk_"+b.Action, "finding", "", details)
			return &bulkOutput{Body: res}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "triage-finding", Method: http.MethodPost, Path: "/api/v1/findings/{id}/triage",
		Summary: "Mark a finding false positive or out of scope, or end it (none)", Tags: tags, Metadata: finding,
		Description: "A false positive or out-of-scope finding is not an open failure, and later scans do not reopen it."},
		rbac.FindingsTriage, func(ctx context.Context, in *triageInput) (*emptyOutput, error) {
			p := auth.PrincipalFrom(ctx)
			if err := s.FindingTriageSet(ctx, p.TeamID(), in.ID, p.User.Email, in.Body.State, in.Body.Reason); err != nil {
				return nil, triageHTTP(err)
			}
			s.record(ctx, "finding.triaged", "finding", strconv.FormatInt(in.ID, 10), map[string]any{"state": in.Body.State, "reason": in.Body.Reason})
			return &emptyOutput{}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "assign-finding", Method: http.MethodPut, Path: "/api/v1/findings/{id}/assignee",
		Summary: "Assign a finding to a user of the team, or unassign it", Tags: tags, Metadata: finding},
		rbac.FindingsTriage, func(ctx context.Context, in *assignInput) (*emptyOutput, error) {
			p := auth.PrincipalFrom(ctx)
			to, err := assignee(ctx, users, p.TeamID(), in.Body.AssigneeID)
			if err != nil {
				return nil, err
			}
			if err := s.FindingAssign(ctx, p.TeamID(), in.ID, p.User.Email, to); err != nil {
				return nil, triageHTTP(err)
			}
			s.record(ctx, "finding.assigned", "finding", strconv.FormatInt(in.ID, 10), map[string]any{"assignee_id": to.ID, "assignee": to.Email})
			return &emptyOutput{}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "comment-finding", Method: http.MethodPost, Path: "/api/v1/findings/{id}/comments",
		Summary: "Comment on a finding", Tags: tags, Metadata: finding, DefaultStatus: http.StatusCreated},
		rbac.FindingsTriage, func(ctx context.Context, in *commentInput) (*commentOutput, error) {
			p := auth.PrincipalFrom(ctx)
			c, err := s.CommentAdd(ctx, p.TeamID(), in.ID, p.User.Email, in.Body.Body)
			if err != nil {
				return nil, triageHTTP(err)
			}
			s.record(ctx, "finding.commented", "finding", strconv.FormatInt(in.ID, 10), map[string]any{"comment_id": c.ID})
			return &commentOutput{Body: c}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "accept-finding-risk", Method: http.MethodPost, Path: "/api/v1/findings/{id}/risk-acceptance",
		Summary: "Accept a finding's risk, with a reason and an expiry", Tags: tags, Metadata: finding, DefaultStatus: http.StatusCreated,
		Description: "Approved at once, unless the team requires approval (triage settings): then pending until a SECURITY_MANAGER, " +
			"COMPLIANCE_OFFICER or ADMIN other than the requester approves it."},
		rbac.FindingsTriage, func(ctx context.Context, in *riskInput) (*riskOutput, error) {
			p := auth.PrincipalFrom(ctx)
			ra, err := s.FindingRiskAccept(ctx, p.TeamID(), in.ID, p.User.Email, in.Body.Reason, in.Body.ExpiresAt)
			if err != nil {
				return nil, triageHTTP(err)
			}
			s.record(ctx, "finding.risk_requested", "finding", strconv.FormatInt(in.ID, 10), map[string]any{"acceptance": ra})
			return &riskOutput{Body: ra}, nil
		})
	for _, d := range []struct {
		verb    string
		approve bool
	}{{"approve", true}, {"reject", false}} {
		httpapi.Register(r, huma.Operation{OperationID: d.verb + "-finding-risk", Method: http.MethodPost, Path: "/api/v1/findings/{id}/risk-acceptance/" + d.verb,
			Summary: "Decide (" + d.verb + ") a finding's pending risk acceptance", Tags: tags, Metadata: finding,
			Description: "SECURITY_MANAGER, COMPLIANCE_OFFICER or ADMIN, other than the requester (403 otherwise)."},
			rbac.FindingsApproveRisk, func(ctx context.Context, in *decideInput) (*riskOutput, error) {
				p := auth.PrincipalFrom(ctx)
				if !CanApproveRisk(p.User.Role) {
					return nil, huma.Error403Forbidden("only a SECURITY_MANAGER, COMPLIANCE_OFFICER or ADMIN decides a risk acceptance")
				}
				ra, err := s.RiskAcceptanceDecide(ctx, p.TeamID(), in.ID, p.User.Email, d.approve, in.Body.Note)
				if err != nil {
					return nil, triageHTTP(err)
				}
				s.record(ctx, "finding.risk_"+map[bool]string{true: "approved", false: "rejected"}[d.approve], "finding",
					strconv.FormatInt(in.ID, 10), map[string]any{"acceptance": ra})
				return &riskOutput{Body: ra}, nil
			})
	}
	httpapi.Register(r, huma.Operation{OperationID: "reopen-finding", Method: http.MethodPost, Path: "/api/v1/findings/{id}/reopen",
		Summary: "End a finding's mute, risk acceptance (pending or approved) or triage state", Tags: tags, Metadata: finding},
		rbac.FindingsTriage, func(ctx context.Context, in *detailInput) (*emptyOutput, error) {
			p := auth.PrincipalFrom(ctx)
			if err := s.FindingReopen(ctx, p.TeamID(), in.ID, p.User.Email); err != nil {
				return nil, triageHTTP(err)
			}
			s.record(ctx, "finding.reopened", "finding", strconv.FormatInt(in.ID, 10), nil)
			return &emptyOutput{}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "list-risk-acceptances", Method: http.MethodGet, Path: "/api/v1/risk-acceptances",
		Summary: "The team's risk acceptances, newest first (at most 500)", Tags: tags},
		rbac.FindingsRead, func(ctx context.Context, in *acceptancesInput) (*acceptancesOutput, error) {
			list, err := s.RiskAcceptanceList(ctx, auth.PrincipalFrom(ctx).TeamID(), in.State)
			if err != nil {
				return nil, toHTTP(err)
			}
			out := &acceptancesOutput{}
			out.Body.RiskAcceptances = list
			return out, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "list-assignees", Method: http.MethodGet, Path: "/api/v1/triage/assignees",
		Summary: "The team's active users a finding can be assigned to", Tags: tags},
		rbac.FindingsRead, func(ctx context.Context, _ *struct{}) (*assigneesOutput, error) {
			list, err := users.UserList(ctx, auth.PrincipalFrom(ctx).TeamID())
			if err != nil {
				return nil, err
			}
			out := &assigneesOutput{}
			out.Body.Users = []AssignableUser{}
			for _, u := range list {
				if !u.Disabled {
					out.Body.Users = append(out.Body.Users, AssignableUser{ID: u.ID, Email: u.Email, Role: u.Role})
				}
			}
			return out, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-triage-settings", Method: http.MethodGet, Path: "/api/v1/triage/settings",
		Summary: "The team's triage settings", Tags: tags},
		rbac.FindingsRead, func(ctx context.Context, _ *struct{}) (*settingsOutput, error) {
			t, err := s.TriageSettingsGet(ctx, auth.PrincipalFrom(ctx).TeamID())
			if err != nil {
				return nil, toHTTP(err)
			}
			return &settingsOutput{Body: t}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "set-triage-settings", Method: http.MethodPut, Path: "/api/v1/triage/settings",
		Summary: "Change the team's triage settings", Tags: tags},
		rbac.TeamManage, func(ctx context.Context, in *settingsInput) (*settingsOutput, error) {
			p := auth.PrincipalFrom(ctx)
			t, err := s.TriageSettingsSet(ctx, p.TeamID(), p.User.Email, TriageSettings{RiskAcceptanceRequiresApproval: in.Body.RiskAcceptanceRequiresApproval})
			if err != nil {
				return nil, toHTTP(err)
			}
			s.record(ctx, "triage_settings.updated", "team", p.TeamID(), map[string]any{"risk_acceptance_requires_approval": t.RiskAcceptanceRequiresApproval})
			return &settingsOutput{Body: t}, nil
		})
}
