package orchestration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

type cloudScanInput struct {
	Body struct {
		AccountID string   `json:"account_id" maxLength:"64"`
		Tools     []string `json:"tools" minItems:"1" maxItems:"4" doc:"prowler, steampipe."`
		Regions   []string `json:"regions,omitempty" maxItems:"64" doc:"AWS only; default the account's regions."`
	}
}

type scanInput struct {
	Body struct {
		Type    string   `json:"type" enum:"network,web,container,code"`
		Tool    string   `json:"tool,omitempty" doc:"nmap (network), wapiti (web), trivy or grype (container)."`
		Tools   []string `json:"tools,omitempty" maxItems:"4" doc:"Several tools at once, instead of tool."`
		Targets []string `json:"targets" minItems:"1" maxItems:"1000" doc:"IP addresses, CIDR blocks or hostnames; URLs; image references."`
		Ports   string   `json:"ports,omitempty" maxLength:"1000" doc:"Network scans: 22,443,8000-8100."`
	}
}

type runOutput struct{ Body ScanRun }

type runIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type runListInput struct {
	AccountID string `query:"account_id" maxLength:"64"`
	Status    string `query:"status" enum:"queued,running,completed,partial,failed,cancelled,"`
	Limit     int    `query:"limit" minimum:"0" maximum:"200" default:"50"`
	Offset    int    `query:"offset" minimum:"0"`
}

type runListOutput struct {
	Body struct {
		Runs  []ScanRun `json:"runs"`
		Total int       `json:"total"`
	}
}

type artifactInput struct {
	ID       string `path:"id" maxLength:"64"`
	SubJobID string `path:"subjob" maxLength:"64"`
}

type scheduleListInput struct {
	AccountID string `query:"account_id" maxLength:"64"`
}

type scheduleListOutput struct {
	Body struct {
		Schedules []Schedule `json:"schedules"`
	}
}

type scheduleOutput struct{ Body Schedule }

type scheduleCreateInput struct{ Body ScheduleParams }

type scheduleUpdateInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body ScheduleParams
}

type scheduleIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func toHTTP(err error) error {
	var missing *ToolMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &missing):
		return huma.Error422UnprocessableEntity(err.Error(), &huma.ErrorDetail{Location: "body.tools", Value: missing.Tool.Name,
			Message: fmt.Sprintf("%s is not installed; set %s (%s) or install it: %s", missing.Tool.Name, missing.Tool.Setting,
				missing.Tool.Env, missing.Tool.Install)})
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, ErrInvalid):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return err
}

func principal(ctx context.Context) (teamID, email string) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return team.FromContext(ctx), ""
	}
	return p.TeamID(), p.User.Email
}

// RegisterRoutes adds the scan API.
func (s *Service) RegisterRoutes(r *httpapi.Router) {
	tags := []string{"Scans"}
	tenant := map[string]any{auth.TenantResourceKey: "scan_run"}
	httpapi.Register(r, huma.Operation{OperationID: "initiate-cloud-scan", Method: http.MethodPost, Path: "/api/v1/cloud/scan",
		Summary: "Scan a cloud account (the seed's initiate_scan)", Tags: tags, DefaultStatus: http.StatusAccepted,
		Description: "Plans SubJobs (AWS: one per region and tool; GCP and Azure: one per project or subscription and tool) and queues them. " +
			"A later run of the same account waits, queued, until the earlier one finishes."},
		rbac.ScansRun, func(ctx context.Context, in *cloudScanInput) (*runOutput, error) {
			teamID, email := principal(ctx)
			run, err := s.InitiateScan(ctx, teamID, ScanParams{ScanType: "cloud", AccountID: in.Body.AccountID, Tools: in.Body.Tools,
				Regions: in.Body.Regions, CreatedBy: email})
			if errors.Is(err, db.ErrNotFound) {
				return nil, huma.Error422UnprocessableEntity("no such cloud account")
			}
			if err != nil {
				return nil, toHTTP(err)
			}
			return &runOutput{Body: run}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "start-scan", Method: http.MethodPost, Path: "/api/v1/scans",
		Summary: "Start a network, web or container scan", Tags: tags, DefaultStatus: http.StatusAccepted},
		rbac.ScansRun, func(ctx context.Context, in *scanInput) (*runOutput, error) {
			teamID, email := principal(ctx)
			tools := in.Body.Tools
			if in.Body.Tool != "" {
				tools = append([]string{in.Body.Tool}, tools...)
			}
			run, err := s.InitiateScan(ctx, teamID, ScanParams{ScanType: in.Body.Type, Tools: tools, Targets: in.Body.Targets,
				Ports: in.Body.Ports, CreatedBy: email})
			if err != nil {
				return nil, toHTTP(err)
			}
			return &runOutput{Body: run}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "list-scans", Method: http.MethodGet, Path: "/api/v1/scans",
		Summary: "The team's scan runs, newest first", Tags: tags},
		rbac.ScansRead, func(ctx context.Context, in *runListInput) (*runListOutput, error) {
			runs, total, err := s.ScanRunList(ctx, ListParams{TeamID: team.FromContext(ctx), AccountID: in.AccountID, Status: in.Status,
				Limit: in.Limit, Offset: in.Offset})
			out := &runListOutput{}
			out.Body.Runs, out.Body.Total = runs, total
			return out, err
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-scan", Method: http.MethodGet, Path: "/api/v1/scans/{id}",
		Summary: "A scan run and its SubJobs", Tags: tags, Metadata: tenant,
		Description: "Its findings are GET /api/v1/findings?scan={id}."},
		rbac.ScansRead, func(ctx context.Context, in *runIDInput) (*runOutput, error) {
			run, err := s.ScanRunGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &runOutput{Body: run}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "cancel-scan", Method: http.MethodPost, Path: "/api/v1/scans/{id}/cancel",
		Summary: "Cancel a scan run", Tags: tags, Metadata: tenant,
		Description: "Queued SubJobs are cancelled at once; running ones stop their tool within a few seconds."},
		rbac.ScansRun, func(ctx context.Context, in *runIDInput) (*runOutput, error) {
			teamID, email := principal(ctx)
			run, err := s.ScanRunCancel(ctx, teamID, in.ID, email)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &runOutput{Body: run}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "download-scan-artifact", Method: http.MethodGet,
		Path: "/api/v1/scans/{id}/subjobs/{subjob}/artifact", Summary: "The raw report a SubJob's tool wrote", Tags: tags, Metadata: tenant},
		rbac.ScansRead, func(ctx context.Context, in *artifactInput) (*huma.StreamResponse, error) {
			rc, name, err := s.ArtifactOpen(ctx, team.FromContext(ctx), in.ID, in.SubJobID)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				defer rc.Close()
				hctx.SetHeader("Content-Type", "application/octet-stream")
				hctx.SetHeader("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
				hctx.SetHeader("X-Content-Type-Options", "nosniff")
				_, _ = io.Copy(hctx.BodyWriter(), rc)
			}}, nil
		})

	stags := []string{"Scan schedules"}
	stenant := map[string]any{auth.TenantResourceKey: "scan_schedule"}
	httpapi.Register(r, huma.Operation{OperationID: "list-scan-schedules", Method: http.MethodGet, Path: "/api/v1/scan-schedules",
		Summary: "The team's scheduled scans with their next run", Tags: stags},
		rbac.ScansRead, func(ctx context.Context, in *scheduleListInput) (*scheduleListOutput, error) {
			list, err := s.ScheduleList(ctx, team.FromContext(ctx), in.AccountID)
			out := &scheduleListOutput{}
			out.Body.Schedules = list
			return out, err
		})
	httpapi.Register(r, huma.Operation{OperationID: "create-scan-schedule", Method: http.MethodPost, Path: "/api/v1/scan-schedules",
		Summary: "Scan an account daily or weekly", Tags: stags, DefaultStatus: http.StatusCreated},
		rbac.ScansRun, func(ctx context.Context, in *scheduleCreateInput) (*scheduleOutput, error) {
			teamID, email := principal(ctx)
			sc, err := s.ScheduleCreate(ctx, teamID, email, in.Body)
			if errors.Is(err, db.ErrNotFound) {
				return nil, huma.Error422UnprocessableEntity("no such cloud account")
			}
			if err != nil {
				return nil, toHTTP(err)
			}
			s.auditSchedule(ctx, "scan_schedule.created", sc.ID)
			return &scheduleOutput{Body: sc}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "update-scan-schedule", Method: http.MethodPut, Path: "/api/v1/scan-schedules/{id}",
		Summary: "Change a schedule", Tags: stags, Metadata: stenant},
		rbac.ScansRun, func(ctx context.Context, in *scheduleUpdateInput) (*scheduleOutput, error) {
			sc, err := s.ScheduleUpdate(ctx, team.FromContext(ctx), in.ID, in.Body)
			if err != nil {
				return nil, toHTTP(err)
			}
			s.auditSchedule(ctx, "scan_schedule.updated", sc.ID)
			return &scheduleOutput{Body: sc}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "delete-scan-schedule", Method: http.MethodDelete, Path: "/api/v1/scan-schedules/{id}",
		Summary: "Remove a schedule", Tags: stags, Metadata: stenant, DefaultStatus: http.StatusNoContent},
		rbac.ScansRun, func(ctx context.Context, in *scheduleIDInput) (*struct{}, error) {
			if err := s.ScheduleDelete(ctx, team.FromContext(ctx), in.ID); err != nil {
				return nil, toHTTP(err)
			}
			s.auditSchedule(ctx, "scan_schedule.deleted", in.ID)
			return nil, nil
		})
}

func (s *Service) auditSchedule(ctx context.Context, action, scheduleID string) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return
	}
	ev := p.AuditActor()
	ev.Action, ev.TargetType, ev.TargetID = action, "scan_schedule", scheduleID
	_ = s.Audit.Record(ctx, ev)
}

// ArtifactOpen opens the report of one of the team's SubJobs.
func (s *Service) ArtifactOpen(ctx context.Context, teamID, runID, subJobID string) (io.ReadCloser, string, error) {
	var sj SubJob
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		sj, err = subJobGet(ctx, q, teamID, subJobID)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if sj.ScanRunID != runID || sj.ArtifactRef == "" {
		return nil, "", db.ErrNotFound
	}
	rc, err := s.Artifacts.Open(ctx, sj.ArtifactRef)
	if err != nil {
		return nil, "", fmt.Errorf("open artifact: %w", err)
	}
	return rc, path.Base(sj.ArtifactRef), nil
}
