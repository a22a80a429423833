package findings

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

type ruleCreateInput struct {
	Body struct {
		CheckPattern    string     `json:"check_pattern,omitempty" maxLength:"200"`
		ResourcePattern string     `json:"resource_pattern,omitempty" maxLength:"500"`
		AccountUID      string     `json:"account_uid,omitempty" maxLength:"100"`
		Region          string     `json:"region,omitempty" maxLength:"50"`
		Tool            string     `json:"tool,omitempty" maxLength:"50"`
		Tag             string     `json:"tag,omitempty" maxLength:"300" doc:"A resource tag: key=value, or key for any value."`
		Reason          string     `json:"reason" maxLength:"1000"`
		ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	}
}

type rulePreviewInput struct {
	Body struct {
		CheckPattern    string `json:"check_pattern,omitempty" maxLength:"200"`
		ResourcePattern string `json:"resource_pattern,omitempty" maxLength:"500"`
		AccountUID      string `json:"account_uid,omitempty" maxLength:"100"`
		Region          string `json:"region,omitempty" maxLength:"50"`
		Tool            string `json:"tool,omitempty" maxLength:"50"`
		Tag             string `json:"tag,omitempty" maxLength:"300"`
	}
}

type rulePreviewOutput struct{ Body MutePreview }

type ruleCreateOutput struct {
	Body struct {
		Rule  MuteRule `json:"rule"`
		Muted int      `json:"muted" doc:"Stored findings the rule muted now."`
	}
}

type rulesOutput struct {
	Body struct {
		Rules []MuteRule `json:"rules"`
	}
}

type ruleIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type unmutedOutput struct {
	Body struct {
		Unmuted int `json:"unmuted"`
	}
}

type muteInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		Kind   string     `json:"kind" enum:"mute,risk_accepted"`
		Reason string     `json:"reason" maxLength:"1000"`
		Until  *time.Time `json:"until,omitempty" doc:"When the mute ends; omit for no end."`
	}
}

type emptyOutput struct{}

func (s *Store) record(ctx context.Context, action, targetType, targetID string, details map[string]any) {
	if s.Audit == nil {
		return
	}
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return
	}
	ev := p.AuditActor()
	ev.Action, ev.TargetType, ev.TargetID, ev.Details = action, targetType, targetID, details
	_ = s.Audit.Record(ctx, ev)
}

func muteHTTP(err error) error {
	if errors.Is(err, ErrInvalidRule) {
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return toHTTP(err)
}

// registerMuteRoutes adds mute rules and per-finding muting; every change is audited.
func (s *Store) registerMuteRoutes(r *httpapi.Router) {
	httpapi.Register(r, huma.Operation{OperationID: "list-mute-rules", Method: http.MethodGet, Path: "/api/v1/mute-rules",
		Summary: "The team's mute rules", Tags: []string{"Findings"}},
		rbac.FindingsRead, func(ctx context.Context, _ *struct{}) (*rulesOutput, error) {
			list, err := s.MuteRuleList(ctx, auth.PrincipalFrom(ctx).TeamID())
			if err != nil {
				return nil, toHTTP(err)
			}
			out := &rulesOutput{}
			out.Body.Rules = list
			return out, nil
		})
	create := huma.Operation{OperationID: "create-mute-rule", Method: http.MethodPost, Path: "/api/v1/mute-rules",
		Summary: "Create a mute rule; it mutes matching stored findings now and new ones at ingestion", Tags: []string{"Findings"},
		DefaultStatus: http.StatusCreated}
	httpapi.Register(r, create, rbac.FindingsTriage, func(ctx context.Context, in *ruleCreateInput) (*ruleCreateOutput, error) {
		p := auth.PrincipalFrom(ctx)
		b := in.Body
		rule, n, err := s.MuteRuleCreate(ctx, p.TeamID(), p.User.Email, MuteRule{CheckPattern: b.CheckPattern, ResourcePattern: b.ResourcePattern,
			AccountUID: b.AccountUID, Region: b.Region, Tool: b.Tool, Tag: b.Tag, Reason: b.Reason, ExpiresAt: b.ExpiresAt})
		if err != nil {
			return nil, muteHTTP(err)
		}
		s.record(ctx, "mute_rule.created", "mute_rule", rule.ID, map[string]any{"rule": rule, "muted": n})
		out := &ruleCreateOutput{}
		out.Body.Rule, out.Body.Muted = rule, n
		return out, nil
	})
	httpapi.Register(r, huma.Operation{OperationID: "preview-mute-rule", Method: http.MethodPost, Path: "/api/v1/mute-rules/preview",
		Summary: "How many stored findings a rule would mute now, and the most severe of them; nothing is saved", Tags: []string{"Findings"}},
		rbac.FindingsRead, func(ctx context.Context, in *rulePreviewInput) (*rulePreviewOutput, error) {
			b := in.Body
			p, err := s.MuteRulePreview(ctx, auth.PrincipalFrom(ctx).TeamID(), MuteRule{CheckPattern: b.CheckPattern, ResourcePattern: b.ResourcePattern,
				AccountUID: b.AccountUID, Region: b.Region, Tool: b.Tool, Tag: b.Tag})
			if err != nil {
				return nil, muteHTTP(err)
			}
			return &rulePreviewOutput{Body: p}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "delete-mute-rule", Method: http.MethodDelete, Path: "/api/v1/mute-rules/{id}",
		Summary: "Delete a mute rule and unmute the findings it muted", Tags: []string{"Findings"},
		Metadata: map[string]any{TenantResourceKey: "mute_rule"}},
		rbac.FindingsTriage, func(ctx context.Context, in *ruleIDInput) (*unmutedOutput, error) {
			n, err := s.MuteRuleDelete(ctx, auth.PrincipalFrom(ctx).TeamID(), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			s.record(ctx, "mute_rule.deleted", "mute_rule", in.ID, map[string]any{"unmuted": n})
			out := &unmutedOutput{}
			out.Body.Unmuted = n
			return out, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "mute-finding", Method: http.MethodPost, Path: "/api/v1/findings/{id}/mute",
		Summary: "Mute or risk-accept one finding, optionally until a date", Tags: []string{"Findings"},
		Metadata: map[string]any{TenantResourceKey: "finding"}},
		rbac.FindingsTriage, func(ctx context.Context, in *muteInput) (*emptyOutput, error) {
			p := auth.PrincipalFrom(ctx)
			if err := s.FindingMute(ctx, p.TeamID(), in.ID, p.User.Email, in.Body.Kind, in.Body.Reason, in.Body.Until); err != nil {
				return nil, muteHTTP(err)
			}
			s.record(ctx, "finding."+in.Body.Kind, "finding", strconv.FormatInt(in.ID, 10), map[string]any{"reason": in.Body.Reason, "until": in.Body.Until})
			return &emptyOutput{}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "unmute-finding", Method: http.MethodDelete, Path: "/api/v1/findings/{id}/mute",
		Summary: "End a finding's mute or risk acceptance", Tags: []string{"Findings"},
		Metadata: map[string]any{TenantResourceKey: "finding"}},
		rbac.FindingsTriage, func(ctx context.Context, in *detailInput) (*emptyOutput, error) {
			if err := s.FindingUnmute(ctx, auth.PrincipalFrom(ctx).TeamID(), in.ID); err != nil {
				return nil, toHTTP(err)
			}
			s.record(ctx, "finding.unmuted", "finding", strconv.FormatInt(in.ID, 10), nil)
			return &emptyOutput{}, nil
		})
}
