package cloud

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
	"github.com/offloadsecurity/cspm/internal/team"
)

type onboardingOutput struct{ Body Onboarding }

type accountIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type accountOutput struct{ Body Account }

type accountListOutput struct {
	Body struct {
		Accounts []Account `json:"accounts"`
	}
}

type accountCreateInput struct{ Body AccountParams }

type accountUpdateInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body AccountChange
}

type testOutput struct{ Body TestResult }

// ToHTTP maps the package's errors to API answers.
func ToHTTP(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, db.ErrConflict):
		return huma.Error409Conflict("this team already registered that account")
	case errors.Is(err, ErrInvalid):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return err
}

func actor(ctx context.Context) audit.Event {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.AuditActor()
	}
	return audit.Event{}
}

// RegisterRoutes adds /api/v1/cloud/accounts.
func (s *Service) RegisterRoutes(r *httpapi.Router) {
	tags := []string{"Cloud accounts"}
	tenant := map[string]any{auth.TenantResourceKey: "cloud_account"}
	httpapi.Register(r, huma.Operation{OperationID: "list-cloud-accounts", Method: http.MethodGet, Path: "/api/v1/cloud/accounts",
		Summary: "The team's cloud accounts (never their credentials), with their last and next scan and their pass rate", Tags: tags},
		rbac.CloudAccountsRead, func(ctx context.Context, _ *struct{}) (*accountListOutput, error) {
			list, err := s.AccountList(ctx, team.FromContext(ctx))
			if err == nil && s.Statuses != nil {
				err = s.Statuses(ctx, team.FromContext(ctx), list)
			}
			out := &accountListOutput{}
			out.Body.Accounts = list
			return out, err
		})
	httpapi.Register(r, huma.Operation{OperationID: "create-cloud-account", Method: http.MethodPost, Path: "/api/v1/cloud/accounts",
		Summary: "Register a cloud account", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "Credentials are sealed with AES-256-GCM before they are stored and are never returned. " +
			"Types: access_keys, assume_role or worker_identity (AWS), service_account (GCP), client_secret (Azure)."},
		rbac.CloudAccountsManage, func(ctx context.Context, in *accountCreateInput) (*accountOutput, error) {
			ev := actor(ctx)
			a, err := s.AccountCreate(ctx, ev.TeamID, ev.ActorEmail, in.Body)
			if err != nil {
				return nil, ToHTTP(err)
			}
			ev.Action, ev.TargetType, ev.TargetID = "cloud_account.created", "cloud_account", a.ID
			ev.Details = map[string]any{"provider": a.Provider, "account_uid": a.AccountUID, "credential_type": a.CredentialType}
			_ = s.Audit.Record(ctx, ev)
			return &accountOutput{Body: a}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-cloud-account", Method: http.MethodGet, Path: "/api/v1/cloud/accounts/{id}",
		Summary: "One cloud account", Tags: tags, Metadata: tenant},
		rbac.CloudAccountsRead, func(ctx context.Context, in *accountIDInput) (*accountOutput, error) {
			a, err := s.AccountGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, ToHTTP(err)
			}
			return &accountOutput{Body: a}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "update-cloud-account", Method: http.MethodPatch, Path: "/api/v1/cloud/accounts/{id}",
		Summary: "Change an account's alias, regions, tags or credentials", Tags: tags, Metadata: tenant,
		Description: "Omit credentials to keep the stored ones."},
		rbac.CloudAccountsManage, func(ctx context.Context, in *accountUpdateInput) (*accountOutput, error) {
			ev := actor(ctx)
			a, err := s.AccountUpdate(ctx, ev.TeamID, in.ID, in.Body)
			if err != nil {
				return nil, ToHTTP(err)
			}
			ev.Action, ev.TargetType, ev.TargetID = "cloud_account.updated", "cloud_account", a.ID
			ev.Details = map[string]any{"credentials_replaced": in.Body.Credentials != nil, "regions": a.Regions}
			_ = s.Audit.Record(ctx, ev)
			return &accountOutput{Body: a}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "delete-cloud-account", Method: http.MethodDelete, Path: "/api/v1/cloud/accounts/{id}",
		Summary: "Remove an account and its credentials (its findings and scan history stay)", Tags: tags, Metadata: tenant,
		DefaultStatus: http.StatusNoContent},
		rbac.CloudAccountsManage, func(ctx context.Context, in *accountIDInput) (*struct{}, error) {
			ev := actor(ctx)
			if err := s.AccountDelete(ctx, ev.TeamID, in.ID); err != nil {
				return nil, ToHTTP(err)
			}
			ev.Action, ev.TargetType, ev.TargetID = "cloud_account.deleted", "cloud_account", in.ID
			_ = s.Audit.Record(ctx, ev)
			return nil, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-cloud-account-onboarding", Method: http.MethodGet, Path: "/api/v1/cloud/accounts/{id}/onboarding",
		Summary: "A read-only role for an AWS account, as CloudFormation and Terraform", Tags: tags, Metadata: tenant,
		Description: "For an AWS account that scans through an assumed role: a role that trusts the platform's principal (a parameter), " +
			"requires the account's external ID, and has the permissions Prowler documents (SecurityAudit, ViewOnlyAccess and its read-only additions)."},
		rbac.CloudAccountsRead, func(ctx context.Context, in *accountIDInput) (*onboardingOutput, error) {
			a, err := s.AccountGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, ToHTTP(err)
			}
			kit, err := OnboardingFor(a)
			if err != nil {
				return nil, ToHTTP(err)
			}
			return &onboardingOutput{Body: kit}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "test-cloud-account", Method: http.MethodPost, Path: "/api/v1/cloud/accounts/{id}/test",
		Summary: "Test the account's credentials against its provider", Tags: tags, Metadata: tenant,
		Description: "AWS: STS GetCallerIdentity (after AssumeRole for a role), and the identity's account must be the registered one. " +
			"GCP: a token from the service account's key. Azure: a token for the service principal. The outcome is kept on the account."},
		rbac.CloudAccountsManage, func(ctx context.Context, in *accountIDInput) (*testOutput, error) {
			ev := actor(ctx)
			res, err := s.TestConnection(ctx, ev.TeamID, in.ID)
			if err != nil {
				return nil, ToHTTP(err)
			}
			ev.Action, ev.TargetType, ev.TargetID = "cloud_account.tested", "cloud_account", in.ID
			ev.Details = map[string]any{"ok": res.OK, "detail": res.Detail}
			if !res.OK {
				ev.Outcome = audit.Failure
			}
			_ = s.Audit.Record(ctx, ev)
			return &testOutput{Body: res}, nil
		})
}
