package notify

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

type integrationListOutput struct {
	Body struct {
		Integrations []Integration `json:"integrations"`
	}
}

type integrationOutput struct{ Body Integration }

type integrationCreateInput struct{ Body IntegrationInput }

type integrationUpdateInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body IntegrationInput
}

type integrationIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type ticketCreateInput struct{ Body TicketParams }

type ticketBulkInput struct{ Body BulkTicketParams }

type ticketBulkOutput struct {
	Body struct {
		Results []BulkTicketResult `json:"results"`
	}
}

type ticketsOutput struct {
	Body struct {
		Tickets []Ticket `json:"tickets"`
	}
}

type ticketListInput struct {
	SubjectKind string   `query:"subject_kind" enum:"finding,vulnerability" required:"true"`
	SubjectID   []string `query:"subject_id" maxItems:"500" doc:"Only these subjects; all of the kind when omitted."`
}

type jiraHookInput struct {
	Integration string `query:"integration" maxLength:"64"`
	Secret      string `query:"secret" maxLength:"256"`
	Signature   string `header:"X-Hub-Signature" maxLength:"200"`
	RawBody     []byte
}

type githubHookInput struct {
	Integration string `query:"integration" maxLength:"64"`
	Event       string `header:"X-GitHub-Event" maxLength:"100"`
	Signature   string `header:"X-Hub-Signature-256" maxLength:"200"`
	RawBody     []byte
}

func ticketsHTTP(err error) error {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return huma.Error401Unauthorized(err.Error())
	case errors.Is(err, ErrTicketSystem):
		return huma.Error502BadGateway(err.Error())
	}
	return toHTTP(err)
}

// RegisterTicketRoutes adds ticket integrations, tickets and the webhooks
// ticket systems call, under /api/v1/tickets.
func (s *Service) RegisterTicketRoutes(r *httpapi.Router) {
	tags := []string{"Integrations"}
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags}
	}
	withID := func(o huma.Operation) huma.Operation {
		o.Metadata = map[string]any{auth.TenantResourceKey: IntegrationResource}
		return o
	}
	list := op("list-ticket-integrations", http.MethodGet, "/api/v1/tickets/integrations", "The team's ticket systems, without their secrets")
	list.Description = "Every role that reads findings may list them, to pick one when it sends a ticket."
	httpapi.Register(r, list, rbac.FindingsRead, func(ctx context.Context, _ *struct{}) (*integrationListOutput, error) {
		l, err := s.IntegrationList(ctx, team.FromContext(ctx))
		if err != nil {
			return nil, err
		}
		out := &integrationListOutput{}
		out.Body.Integrations = l
		return out, nil
	})
	create := op("create-ticket-integration", http.MethodPost, "/api/v1/tickets/integrations", "Add a Jira or GitHub Issues integration")
	create.DefaultStatus = http.StatusCreated
	create.Description = "The token and the webhook secret are sealed and never answered again; a webhook secret generated here is answered once."
	httpapi.Register(r, create, rbac.IntegrationsManage, func(ctx context.Context, in *integrationCreateInput) (*integrationOutput, error) {
		it, err := s.IntegrationCreate(ctx, team.FromContext(ctx), in.Body, actorFrom(ctx))
		if err != nil {
			return nil, toHTTP(err)
		}
		return &integrationOutput{Body: it}, nil
	})
	httpapi.Register(r, withID(op("update-ticket-integration", http.MethodPut, "/api/v1/tickets/integrations/{id}", "Change a ticket integration")),
		rbac.IntegrationsManage, func(ctx context.Context, in *integrationUpdateInput) (*integrationOutput, error) {
			it, err := s.IntegrationUpdate(ctx, team.FromContext(ctx), in.ID, in.Body, actorFrom(ctx))
			if err != nil {
				return nil, toHTTP(err)
			}
			return &integrationOutput{Body: it}, nil
		})
	del := withID(op("delete-ticket-integration", http.MethodDelete, "/api/v1/tickets/integrations/{id}", "Delete a ticket integration and its ticket records"))
	del.DefaultStatus = http.StatusNoContent
	httpapi.Register(r, del, rbac.IntegrationsManage, func(ctx context.Context, in *integrationIDInput) (*struct{}, error) {
		return nil, toHTTP(s.IntegrationDelete(ctx, team.FromContext(ctx), in.ID, actorFrom(ctx)))
	})
	push := op("create-tickets", http.MethodPost, "/api/v1/tickets", "Send findings or vulnerabilities to a ticket system")
	push.Description = "One ticket per subject; a subject that already has a ticket in that integration answers it instead of a second one."
	httpapi.Register(r, push, rbac.TicketsCreate, func(ctx context.Context, in *ticketCreateInput) (*ticketsOutput, error) {
		if s.opts.Subjects == nil {
			return nil, huma.Error503ServiceUnavailable("tickets are not wired in this process")
		}
		t, err := s.TicketCreate(ctx, team.FromContext(ctx), in.Body, s.opts.Subjects, actorFrom(ctx))
		if err != nil {
			return nil, ticketsHTTP(err)
		}
		out := &ticketsOutput{}
		out.Body.Tickets = t
		return out, nil
	})
	bulk := op("create-tickets-bulk", http.MethodPost, "/api/v1/tickets/bulk", "Send a selection of findings or vulnerabilities to a ticket system")
	bulk.Description = "One ticket per subject that has none in that integration yet (those that have one answer exists and are skipped); " +
		"a subject that fails answers failed with its error and the others go on. An integration of another team answers 404."
	httpapi.Register(r, bulk, rbac.TicketsCreate, func(ctx context.Context, in *ticketBulkInput) (*ticketBulkOutput, error) {
		if s.opts.Subjects == nil {
			return nil, huma.Error503ServiceUnavailable("tickets are not wired in this process")
		}
		res, err := s.TicketBulk(ctx, team.FromContext(ctx), in.Body, s.opts.Subjects, actorFrom(ctx))
		if err != nil {
			return nil, ticketsHTTP(err)
		}
		out := &ticketBulkOutput{}
		out.Body.Results = res
		return out, nil
	})
	httpapi.Register(r, op("list-tickets", http.MethodGet, "/api/v1/tickets", "Tickets of findings or vulnerabilities, with their state"),
		rbac.FindingsRead, func(ctx context.Context, in *ticketListInput) (*ticketsOutput, error) {
			t, err := s.TicketList(ctx, team.FromContext(ctx), in.SubjectKind, in.SubjectID)
			if err != nil {
				return nil, err
			}
			out := &ticketsOutput{}
			out.Body.Tickets = t
			return out, nil
		})
	jira := op("jira-webhook", http.MethodPost, "/api/v1/tickets/webhooks/jira", "Jira's webhook: an issue's status changed")
	jira.DefaultStatus = http.StatusNoContent
	jira.Description = "Authenticated by the integration's webhook secret, in ?secret= or as an X-Hub-Signature HMAC of the body; 401 otherwise."
	httpapi.Register(r, jira, rbac.Public, func(ctx context.Context, in *jiraHookInput) (*struct{}, error) {
		return nil, ticketsHTTP(s.JiraWebhook(ctx, in.Integration, in.Secret, in.Signature, in.RawBody, s.opts.Subjects))
	})
	gh := op("github-webhook", http.MethodPost, "/api/v1/tickets/webhooks/github", "GitHub's issues webhook: an issue closed or reopened")
	gh.DefaultStatus = http.StatusNoContent
	gh.Description = "Authenticated by X-Hub-Signature-256 with the integration's webhook secret; 401 otherwise."
	httpapi.Register(r, gh, rbac.Public, func(ctx context.Context, in *githubHookInput) (*struct{}, error) {
		return nil, ticketsHTTP(s.GitHubWebhook(ctx, in.Integration, in.Event, in.Signature, in.RawBody, s.opts.Subjects))
	})
}
