package notify

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/secrets"
	"github.com/offloadsecurity/cspm/internal/team"
)

// Tenant resources the routes' {id} names (see auth.TenantResourceKey).
const (
	RuleResource        = "notify_rule"
	IntegrationResource = "ticket_integration"
)

func actorFrom(ctx context.Context) audit.Event {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.AuditActor()
	}
	return audit.Event{}
}

// toHTTP maps service errors to problems.
func toHTTP(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, db.ErrConflict):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrUnsafeURL):
		return huma.Error422UnprocessableEntity(err.Error())
	case errors.Is(err, secrets.ErrOpen):
		return huma.Error422UnprocessableEntity("the stored secrets no longer open (the secret key changed): enter them again")
	}
	return err
}

type ruleListOutput struct {
	Body struct {
		Rules      []Rule   `json:"rules"`
		EventTypes []string `json:"event_types"`
	}
}

type ruleOutput struct{ Body Rule }

type ruleCreateInput struct{ Body RuleInput }

type ruleIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type ruleUpdateInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body RuleInput
}

type deliveriesInput struct {
	ID    string `path:"id" maxLength:"64"`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type deliveriesOutput struct {
	Body struct {
		Deliveries []Delivery `json:"deliveries"`
	}
}

type deliveryOutput struct{ Body Delivery }

// RegisterRoutes adds the notification rules API under /api/v1/notifications.
func (s *Service) RegisterRoutes(r *httpapi.Router) {
	tags := []string{"Integrations"}
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags}
	}
	withID := func(o huma.Operation) huma.Operation {
		o.Metadata = map[string]any{auth.TenantResourceKey: RuleResource}
		return o
	}
	httpapi.Register(r, op("list-notification-rules", http.MethodGet, "/api/v1/notifications/rules", "The team's notification rules"),
		rbac.IntegrationsRead, func(ctx context.Context, _ *struct{}) (*ruleListOutput, error) {
			list, err := s.RuleList(ctx, team.FromContext(ctx))
			if err != nil {
				return nil, err
			}
			out := &ruleListOutput{}
			out.Body.Rules, out.Body.EventTypes = list, EventTypes
			return out, nil
		})
	create := op("create-notification-rule", http.MethodPost, "/api/v1/notifications/rules", "Add a notification rule")
	create.DefaultStatus = http.StatusCreated
	create.Description = "The channel's URL, signing secret and password are sealed and never answered again. A webhook rule " +
		"created without a signing_secret gets one generated, answered in this response only."
	httpapi.Register(r, create, rbac.IntegrationsManage, func(ctx context.Context, in *ruleCreateInput) (*ruleOutput, error) {
		rule, err := s.RuleCreate(ctx, team.FromContext(ctx), in.Body, actorFrom(ctx))
		if err != nil {
			return nil, toHTTP(err)
		}
		return &ruleOutput{Body: rule}, nil
	})
	httpapi.Register(r, withID(op("get-notification-rule", http.MethodGet, "/api/v1/notifications/rules/{id}", "One notification rule")),
		rbac.IntegrationsRead, func(ctx context.Context, in *ruleIDInput) (*ruleOutput, error) {
			rule, err := s.RuleGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &ruleOutput{Body: rule}, nil
		})
	upd := withID(op("update-notification-rule", http.MethodPut, "/api/v1/notifications/rules/{id}", "Change a notification rule"))
	upd.Description = "Omit channel to keep it; in a channel of the same kind, empty secrets keep the stored ones."
	httpapi.Register(r, upd, rbac.IntegrationsManage, func(ctx context.Context, in *ruleUpdateInput) (*ruleOutput, error) {
		rule, err := s.RuleUpdate(ctx, team.FromContext(ctx), in.ID, in.Body, actorFrom(ctx))
		if err != nil {
			return nil, toHTTP(err)
		}
		return &ruleOutput{Body: rule}, nil
	})
	del := withID(op("delete-notification-rule", http.MethodDelete, "/api/v1/notifications/rules/{id}", "Delete a rule and its delivery log"))
	del.DefaultStatus = http.StatusNoContent
	httpapi.Register(r, del, rbac.IntegrationsManage, func(ctx context.Context, in *ruleIDInput) (*struct{}, error) {
		return nil, toHTTP(s.RuleDelete(ctx, team.FromContext(ctx), in.ID, actorFrom(ctx)))
	})
	test := withID(op("test-notification-rule", http.MethodPost, "/api/v1/notifications/rules/{id}/test", "Send a test message now"))
	test.Description = "Sends at once, without retries, and answers the delivery as logged: delivered, or failed with the receiver's " +
		"status code and error."
	httpapi.Register(r, test, rbac.IntegrationsManage, func(ctx context.Context, in *ruleIDInput) (*deliveryOutput, error) {
		d, err := s.RuleTest(ctx, team.FromContext(ctx), in.ID)
		if err != nil {
			return nil, toHTTP(err)
		}
		return &deliveryOutput{Body: d}, nil
	})
	httpapi.Register(r, withID(op("list-notification-deliveries", http.MethodGet, "/api/v1/notifications/rules/{id}/deliveries",
		"A rule's delivery log, newest first")), rbac.IntegrationsRead, func(ctx context.Context, in *deliveriesInput) (*deliveriesOutput, error) {
		list, err := s.DeliveryList(ctx, team.FromContext(ctx), in.ID, in.Limit)
		if err != nil {
			return nil, toHTTP(err)
		}
		out := &deliveriesOutput{}
		out.Body.Deliveries = list
		return out, nil
	})
}
