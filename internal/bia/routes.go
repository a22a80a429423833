package bia

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

// TenantResource is the kind of object a BIA route's {id} names (see
// auth.TenantResourceKey).
const TenantResource = "bia_process"

func actorFrom(ctx context.Context) Actor {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return Actor{}
	}
	return Actor{Event: p.AuditActor(), Role: p.Role}
}

// toHTTP maps service errors; viaIfMatch turns a stale revision into 412
// (the If-Match precondition failed) instead of 409.
func toHTTP(err error, viaIfMatch bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, ErrStale) && viaIfMatch:
		return huma.Error412PreconditionFailed(err.Error() + "; read it again")
	case errors.Is(err, ErrStale):
		return huma.Error409Conflict(err.Error() + "; read it again")
	case errors.Is(err, ErrPrecondition):
		return huma.NewError(http.StatusPreconditionRequired, err.Error())
	case errors.Is(err, ErrForbidden):
		return huma.Error403Forbidden(err.Error())
	case errors.Is(err, ErrState):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrCycle):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return err
}

// revisionOf reads the revision an edit names: If-Match ("<id>-r<n>", as
// ETag gives it) wins over the body's revision.
func revisionOf(id, ifMatch string, body *int64) (*int64, bool, error) {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" {
		return body, false, nil
	}
	tag := strings.Trim(strings.TrimPrefix(ifMatch, "W/"), `"`)
	pid, n, ok := strings.Cut(tag, "-r")
	rev, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || pid != id {
		return nil, true, huma.Error412PreconditionFailed("If-Match does not name a revision of this analysis")
	}
	return &rev, true, nil
}

type biaListInput struct {
	Status []string `query:"status" enum:"draft,in_review,returned,approved,archived" doc:"Only these statuses."`
	Tier   []int    `query:"tier" doc:"Only these tiers (in force)."`
	Q      string   `query:"q" maxLength:"200" doc:"Substring of the name."`
}

type biaListOutput struct {
	Body struct {
		Processes []Process `json:"processes"`
		Settings  Settings  `json:"settings"`
	}
}

type biaProcessOutput struct {
	ETag string `header:"ETag"`
	Body Process
}

func processOut(p Process) *biaProcessOutput { return &biaProcessOutput{ETag: p.ETag(), Body: p} }

type biaCreateInput struct {
	Body Record
}

type biaIdInput struct {
	ID string `path:"id" maxLength:"64"`
}

type biaUpdateInput struct {
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The ETag read; or send revision in the body."`
	Body    struct {
		Record
		Revision *int64 `json:"revision,omitempty" doc:"The revision read, when If-Match is not sent."`
	}
}

type biaDependenciesInput struct {
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match"`
	Body    struct {
		Dependencies []Dependency `json:"dependencies" maxItems:"2000"`
		Revision     *int64       `json:"revision,omitempty"`
	}
}

type biaDependenciesOutput struct {
	Body struct {
		// Dependencies of the latest version, and of the version in force.
		Dependencies []Dependency      `json:"dependencies"`
		InForce      []Dependency      `json:"in_force"`
		DependedOnBy []InheritedFrom   `json:"depended_on_by"`
		Objectives   Objectives        `json:"objectives"`
		Exposure     *Exposure         `json:"exposure,omitempty" doc:"Open failing findings and KEV vulnerabilities on them."`
		Processes    map[string]string `json:"processes" doc:"Names of the processes named, by ID."`
	}
}

type biaTransitionInput struct {
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match"`
	Body    struct {
		Action   string `json:"action" enum:"submit,approve,return,revise,archive"`
		Comment  string `json:"comment,omitempty" maxLength:"5000"`
		Revision *int64 `json:"revision,omitempty"`
	}
}

type biaVersionsOutput struct {
	Body struct {
		Versions    []Version    `json:"versions"`
		Transitions []Transition `json:"transitions"`
	}
}

type biaVersionInput struct {
	ID      string `path:"id" maxLength:"64"`
	Version string `path:"version" maxLength:"64" doc:"Version number."`
}

type biaVersionOutput struct{ Body Version }

type biaAnalyticsOutput struct{ Body Analytics }

type biaExportInput struct {
	Format string `query:"format" enum:"csv,xlsx" default:"csv"`
}

type biaExportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

type biaSettingsOutput struct{ Body Settings }

type biaSettingsInput struct{ Body Settings }

// RegisterRoutes adds the BIA API under /api/v1/bia.
func (s *Service) RegisterRoutes(r *httpapi.Router) {
	tags := []string{"Business impact"}
	tenant := map[string]any{auth.TenantResourceKey: TenantResource}
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags}
	}
	withID := func(o huma.Operation) huma.Operation { o.Metadata = tenant; return o }

	httpapi.Register(r, op("list-bia", http.MethodGet, "/api/v1/bia", "The team's BIA register, most critical first"),
		rbac.BIARead, func(ctx context.Context, in *biaListInput) (*biaListOutput, error) {
			teamID := team.FromContext(ctx)
			list, err := s.ProcessList(ctx, teamID, ListParams{Status: in.Status, Tier: in.Tier, Text: in.Q})
			if err != nil {
				return nil, err
			}
			st, err := s.SettingsGet(ctx, teamID)
			if err != nil {
				return nil, err
			}
			out := &biaListOutput{}
			out.Body.Processes, out.Body.Settings = list, st
			return out, nil
		})
	create := op("create-bia", http.MethodPost, "/api/v1/bia", "Start a business impact analysis (a draft, version 1)")
	create.DefaultStatus = http.StatusCreated
	httpapi.Register(r, create, rbac.BIAManage, func(ctx context.Context, in *biaCreateInput) (*biaProcessOutput, error) {
		p, err := s.ProcessCreate(ctx, team.FromContext(ctx), in.Body, actorFrom(ctx))
		if err != nil {
			return nil, toHTTP(err, false)
		}
		return processOut(p), nil
	})
	httpapi.Register(r, op("get-bia-analytics", http.MethodGet, "/api/v1/bia/analytics",
		"Processes per tier and status, impact heatmap, objective gaps, overdue reviews, revenue at risk, and the findings on each process's dependencies"),
		rbac.BIARead, func(ctx context.Context, _ *struct{}) (*biaAnalyticsOutput, error) {
			a, err := s.AnalyticsGet(ctx, team.FromContext(ctx))
			if err != nil {
				return nil, err
			}
			return &biaAnalyticsOutput{Body: a}, nil
		})
	httpapi.Register(r, op("export-bia", http.MethodGet, "/api/v1/bia/export", "The BIA register as CSV or XLSX"),
		rbac.BIARead, func(ctx context.Context, in *biaExportInput) (*biaExportOutput, error) {
			body, ct, name, err := s.Export(ctx, team.FromContext(ctx), in.Format)
			if err != nil {
				return nil, toHTTP(err, false)
			}
			return &biaExportOutput{ContentType: ct, ContentDisposition: `attachment; filename="` + name + `"`, Body: body}, nil
		})
	httpapi.Register(r, op("get-bia-settings", http.MethodGet, "/api/v1/bia/settings", "The team's tier names, impact categories and horizons"),
		rbac.BIARead, func(ctx context.Context, _ *struct{}) (*biaSettingsOutput, error) {
			st, err := s.SettingsGet(ctx, team.FromContext(ctx))
			if err != nil {
				return nil, err
			}
			return &biaSettingsOutput{Body: st}, nil
		})
	httpapi.Register(r, op("set-bia-settings", http.MethodPut, "/api/v1/bia/settings", "Set the team's tier names, impact categories and horizons"),
		rbac.BIAManage, func(ctx context.Context, in *biaSettingsInput) (*biaSettingsOutput, error) {
			st, err := s.SettingsSet(ctx, team.FromContext(ctx), in.Body, actorFrom(ctx))
			if err != nil {
				return nil, toHTTP(err, false)
			}
			return &biaSettingsOutput{Body: st}, nil
		})
	httpapi.Register(r, withID(op("get-bia", http.MethodGet, "/api/v1/bia/{id}", "One analysis: latest version, version in force, objectives, gaps")),
		rbac.BIARead, func(ctx context.Context, in *biaIdInput) (*biaProcessOutput, error) {
			p, err := s.ProcessGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err, false)
			}
			return processOut(p), nil
		})
	update := withID(op("update-bia", http.MethodPut, "/api/v1/bia/{id}", "Change an analysis"))
	update.Description = "A draft changes in place (a returned one goes back to draft); an approved analysis is read-only, so the change " +
		"starts a new draft version while the approved one stays in force. Send the ETag read as If-Match (412 when stale) or the " +
		"revision read in the body (409 when stale); 428 without either."
	httpapi.Register(r, update, rbac.BIAManage, func(ctx context.Context, in *biaUpdateInput) (*biaProcessOutput, error) {
		rev, viaIfMatch, err := revisionOf(in.ID, in.IfMatch, in.Body.Revision)
		if err != nil {
			return nil, err
		}
		p, err := s.ProcessUpdate(ctx, team.FromContext(ctx), in.ID, UpdateParams{Record: in.Body.Record, Revision: rev}, actorFrom(ctx))
		if err != nil {
			return nil, toHTTP(err, viaIfMatch)
		}
		return processOut(p), nil
	})
	del := withID(op("delete-bia", http.MethodDelete, "/api/v1/bia/{id}", "Delete an analysis never approved and that nothing depends on"))
	del.DefaultStatus = http.StatusNoContent
	httpapi.Register(r, del, rbac.BIAManage, func(ctx context.Context, in *biaIdInput) (*struct{}, error) {
		return nil, toHTTP(s.ProcessDelete(ctx, team.FromContext(ctx), in.ID, actorFrom(ctx)), false)
	})
	s.registerLifecycleRoutes(r, op, withID)
}

func (s *Service) registerLifecycleRoutes(r *httpapi.Router, op func(id, method, path, summary string) huma.Operation,
	withID func(huma.Operation) huma.Operation) {
	tr := withID(op("transition-bia", http.MethodPost, "/api/v1/bia/{id}/transitions", "Take a lifecycle step: submit, approve, return, revise or archive"))
	tr.Description = "submit: draft to in_review (refused while blocking gaps remain). approve: in_review to approved, by a SECURITY_MANAGER or " +
		"COMPLIANCE_OFFICER who wrote no part of the version (403 otherwise). return: in_review to returned, with a comment. revise: returned to " +
		"draft. archive: to archived, by an ADMIN. Every step is recorded with its actor and comment, and audited."
	httpapi.Register(r, tr, rbac.BIAManage, func(ctx context.Context, in *biaTransitionInput) (*biaProcessOutput, error) {
		rev, viaIfMatch, err := revisionOf(in.ID, in.IfMatch, in.Body.Revision)
		if err != nil {
			return nil, err
		}
		p, err := s.ProcessTransition(ctx, team.FromContext(ctx), in.ID, TransitionParams{Action: in.Body.Action, Comment: in.Body.Comment,
			Revision: rev}, actorFrom(ctx))
		if err != nil {
			return nil, toHTTP(err, viaIfMatch)
		}
		return processOut(p), nil
	})
	httpapi.Register(r, withID(op("list-bia-versions", http.MethodGet, "/api/v1/bia/{id}/versions", "Every version of an analysis and its transitions")),
		rbac.BIARead, func(ctx context.Context, in *biaIdInput) (*biaVersionsOutput, error) {
			v, t, err := s.VersionList(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err, false)
			}
			out := &biaVersionsOutput{}
			out.Body.Versions, out.Body.Transitions = v, t
			return out, nil
		})
	httpapi.Register(r, withID(op("get-bia-version", http.MethodGet, "/api/v1/bia/{id}/versions/{version}", "One version of an analysis")),
		rbac.BIARead, func(ctx context.Context, in *biaVersionInput) (*biaVersionOutput, error) {
			n, err := strconv.Atoi(in.Version)
			if err != nil || n < 1 {
				return nil, huma.Error404NotFound("not found")
			}
			v, err := s.VersionGet(ctx, team.FromContext(ctx), in.ID, n)
			if err != nil {
				return nil, toHTTP(err, false)
			}
			return &biaVersionOutput{Body: v}, nil
		})
	httpapi.Register(r, withID(op("get-bia-dependencies", http.MethodGet, "/api/v1/bia/{id}/dependencies",
		"An analysis's dependencies, what depends on it, and the findings on them")),
		rbac.BIARead, func(ctx context.Context, in *biaIdInput) (*biaDependenciesOutput, error) {
			return s.dependenciesOut(ctx, team.FromContext(ctx), in.ID)
		})
	deps := withID(op("set-bia-dependencies", http.MethodPut, "/api/v1/bia/{id}/dependencies", "Replace an analysis's dependencies"))
	deps.Description = "A change of the analysis like any other (see update-bia): an approved one gets a new draft version."
	httpapi.Register(r, deps, rbac.BIAManage, func(ctx context.Context, in *biaDependenciesInput) (*biaDependenciesOutput, error) {
		teamID := team.FromContext(ctx)
		rev, viaIfMatch, err := revisionOf(in.ID, in.IfMatch, in.Body.Revision)
		if err != nil {
			return nil, err
		}
		p, err := s.ProcessGet(ctx, teamID, in.ID)
		if err != nil {
			return nil, toHTTP(err, false)
		}
		rec := p.Latest.Record
		rec.Dependencies = in.Body.Dependencies
		if _, err := s.ProcessUpdate(ctx, teamID, in.ID, UpdateParams{Record: rec, Revision: rev}, actorFrom(ctx)); err != nil {
			return nil, toHTTP(err, viaIfMatch)
		}
		return s.dependenciesOut(ctx, teamID, in.ID)
	})
}

func (s *Service) dependenciesOut(ctx context.Context, teamID, id string) (*biaDependenciesOutput, error) {
	p, err := s.ProcessGet(ctx, teamID, id)
	if err != nil {
		return nil, toHTTP(err, false)
	}
	out := &biaDependenciesOutput{}
	b := &out.Body
	b.Dependencies, b.InForce = nonNil(p.Latest.Record.Dependencies), nonNil(p.inForce().Record.Dependencies)
	b.DependedOnBy, b.Objectives, b.Processes = p.DependedOnBy, p.Objectives, map[string]string{}
	a, err := s.AnalyticsGet(ctx, teamID)
	if err != nil {
		return nil, err
	}
	for i := range a.Exposure {
		if a.Exposure[i].ProcessID == id {
			b.Exposure = &a.Exposure[i]
		}
	}
	list, err := s.ProcessList(ctx, teamID, ListParams{})
	if err != nil {
		return nil, err
	}
	for _, x := range list {
		b.Processes[x.ID] = x.Latest.Record.Name
	}
	return out, nil
}

func nonNil(d []Dependency) []Dependency {
	if d == nil {
		return []Dependency{}
	}
	return d
}
