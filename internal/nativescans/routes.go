package nativescans

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

type listInput struct {
	ScanType string `query:"type" enum:"cloud,network,web,container,code,"`
	Tool     string `query:"tool" maxLength:"50"`
	Status   string `query:"status" enum:"queued,running,completed,partial,failed,cancelled,"`
	Limit    int    `query:"limit" minimum:"0" maximum:"500" default:"50"`
	Offset   int    `query:"offset" minimum:"0"`
}

type listOutput struct {
	Body struct {
		ScanResults []ScanResult `json:"scan_results"`
		Total       int          `json:"total"`
	}
}

type getInput struct {
	ID string `path:"id" maxLength:"64"`
}

type getOutput struct{ Body ScanResult }

// RegisterRoutes adds the unified scan history.
func (s *Service) RegisterRoutes(r *httpapi.Router) {
	httpapi.Register(r, huma.Operation{OperationID: "list-scan-results", Method: http.MethodGet, Path: "/api/v1/scan-results",
		Summary: "The unified scan history: cloud, network, web, container and code scans and imports", Tags: []string{"Scans"}},
		rbac.ScansRead, func(ctx context.Context, in *listInput) (*listOutput, error) {
			list, total, err := s.ScanResultList(ctx, ListParams{TeamID: team.FromContext(ctx), ScanType: in.ScanType, Tool: in.Tool,
				Status: in.Status, Limit: in.Limit, Offset: in.Offset})
			if err != nil {
				return nil, err
			}
			out := &listOutput{}
			out.Body.ScanResults, out.Body.Total = list, total
			return out, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-scan-result", Method: http.MethodGet, Path: "/api/v1/scan-results/{id}",
		Summary: "One entry of the scan history", Tags: []string{"Scans"}, Metadata: map[string]any{"tenant_resource": "scan"}},
		rbac.ScansRead, func(ctx context.Context, in *getInput) (*getOutput, error) {
			rec, err := s.ScanResultGet(ctx, team.FromContext(ctx), in.ID)
			if errors.Is(err, db.ErrNotFound) {
				return nil, huma.Error404NotFound("not found")
			}
			if err != nil {
				return nil, err
			}
			return &getOutput{Body: rec}, nil
		})
}
