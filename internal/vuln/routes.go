package vuln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

type listInput struct {
	GroupBy      string   `query:"group_by" enum:"vulnerability,asset," doc:"Default vulnerability."`
	Status       []string `query:"status" doc:"Any of open, fixed, accepted, not_affected, will_not_fix (the vendor's word, as the scanner reports it); default open."`
	Severity     []string `query:"severity" doc:"Any of critical, high, medium, low, informational."`
	Priority     []string `query:"priority" doc:"Any of P1, P2, P3, P4."`
	InKEV        string   `query:"in_kev" enum:"true,false," doc:"Only vulnerabilities in (or not in) CISA KEV."`
	Ransomware   bool     `query:"ransomware" doc:"Only KEV vulnerabilities with known ransomware use."`
	EPSSMin      float64  `query:"epss_min" minimum:"0" maximum:"1" doc:"Only vulnerabilities with an EPSS probability at least this."`
	Overdue      bool     `query:"overdue" doc:"Only open occurrences past their SLA deadline."`
	FixAvailable string   `query:"fix_available" enum:"true,false,"`
	Text         string   `query:"q" maxLength:"200" doc:"Substring of the ID, title, asset or component."`
	Limit        int      `query:"limit" minimum:"0" maximum:"500" default:"50"`
	Offset       int      `query:"offset" minimum:"0" maximum:"100000"`
	BusinessTier []int    `query:"business_tier" doc:"Any of the business tiers 1 (mission critical) to 5: occurrences on assets a business impact analysis of that tier depends on."`
	Sort         string   `query:"sort" enum:"risk,business_tier," doc:"Default risk (the riskiest first). business_tier: the tightest business tier first, then the riskiest; assets no analysis names last."`
}

func optionalBool(s string) *bool {
	if s == "" {
		return nil
	}
	b := s == "true"
	return &b
}

type listOutput struct{ Body VulnerabilityList }

type getInput struct {
	ID string `path:"id" maxLength:"100" doc:"A CVE, GHSA or other vulnerability ID."`
}

type getOutput struct{ Body VulnerabilityDetail }

type occurrenceInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body StatusChange
}

type occurrenceOutput struct{ Body Occurrence }

type slaOutput struct{ Body SLAPolicy }

type slaInput struct{ Body SLAPolicy }

type kevStatusOutput struct {
	Body struct {
		KEVStatus
		Journal []KEVJournalEntry `json:"journal" doc:"The latest additions and removals."`
		EPSS    EPSSStatus        `json:"epss"`
	}
}

type kevSyncOutput struct{ Body KEVSyncResult }

// actor is the audit identity of the request's principal.
func actor(ctx context.Context) audit.Event {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return audit.Event{}
	}
	return p.AuditActor()
}

func toHTTP(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, ErrReasonRequired), strings.HasPrefix(err.Error(), "unknown "), strings.Contains(err.Error(), "must "),
		strings.Contains(err.Error(), "cannot change"):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return err
}

// RegisterRoutes adds the vulnerability API. kevURL is the configured
// default source of POST /api/v1/kev/sync.
func (s *Service) RegisterRoutes(r *httpapi.Router, kevURL string) {
	tags := []string{"Vulnerabilities"}
	httpapi.Register(r, huma.Operation{OperationID: "list-vulnerabilities", Method: http.MethodGet, Path: "/api/v1/vulnerabilities",
		Summary: "The team's vulnerabilities, by vulnerability or by asset, riskiest first", Tags: tags},
		rbac.VulnsRead, func(ctx context.Context, in *listInput) (*listOutput, error) {
			res, err := s.List(ctx, ListParams{TeamID: team.FromContext(ctx), GroupBy: in.GroupBy, Status: in.Status, Severity: in.Severity,
				Priority: in.Priority, InKEV: optionalBool(in.InKEV), Ransomware: in.Ransomware, EPSSMin: in.EPSSMin, Overdue: in.Overdue,
				FixAvailable: optionalBool(in.FixAvailable), Text: in.Text, Limit: in.Limit, Offset: in.Offset,
				BusinessTier: in.BusinessTier, Sort: in.Sort})
			if err != nil {
				return nil, toHTTP(err)
			}
			return &listOutput{Body: res}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-vulnerability", Method: http.MethodGet, Path: "/api/v1/vulnerabilities/{id}",
		Summary: "One vulnerability: catalog entry, KEV and EPSS, and the team's occurrences", Tags: tags,
		Metadata: map[string]any{auth.TenantResourceKey: "vulnerability"}},
		rbac.VulnsRead, func(ctx context.Context, in *getInput) (*getOutput, error) {
			d, err := s.Get(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			if s.Tickets != nil {
				if d.Tickets, err = s.Tickets(ctx, team.FromContext(ctx), d.ID); err != nil {
					return nil, err
				}
			}
			return &getOutput{Body: d}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "set-vulnerability-occurrence-status", Method: http.MethodPatch,
		Path: "/api/v1/vulnerabilities/occurrences/{id}", Summary: "Accept the risk of an occurrence, or open it again", Tags: tags,
		Metadata: map[string]any{auth.TenantResourceKey: "vuln_occurrence"}},
		rbac.VulnsManage, func(ctx context.Context, in *occurrenceInput) (*occurrenceOutput, error) {
			o, err := s.OccurrenceSetStatus(ctx, team.FromContext(ctx), in.ID, in.Body, actor(ctx))
			if err != nil {
				return nil, toHTTP(err)
			}
			return &occurrenceOutput{Body: o}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-vulnerability-sla", Method: http.MethodGet, Path: "/api/v1/vulnerabilities/sla",
		Summary: "The team's remediation deadlines by severity", Tags: tags},
		rbac.VulnsRead, func(ctx context.Context, _ *struct{}) (*slaOutput, error) {
			p, err := s.SLAPolicyGet(ctx, team.FromContext(ctx))
			return &slaOutput{Body: p}, err
		})
	httpapi.Register(r, huma.Operation{OperationID: "set-vulnerability-sla", Method: http.MethodPut, Path: "/api/v1/vulnerabilities/sla",
		Summary: "Set the team's remediation deadlines", Tags: tags},
		rbac.VulnsManage, func(ctx context.Context, in *slaInput) (*slaOutput, error) {
			teamID, a := team.FromContext(ctx), actor(ctx)
			old, err := s.SLAPolicyGet(ctx, teamID)
			if err != nil {
				return nil, err
			}
			if err := s.SLAPolicySet(ctx, teamID, a.ActorEmail, in.Body); err != nil {
				return nil, huma.Error422UnprocessableEntity(err.Error())
			}
			s.record(ctx, a, "vulnerability.sla_changed", "team", teamID, nil, func() map[string]any {
				return map[string]any{"from": old, "to": in.Body}
			})
			return &slaOutput{Body: in.Body}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-kev-status", Method: http.MethodGet, Path: "/api/v1/kev/status",
		Summary: "The stored CISA KEV catalog, its last sync and the EPSS scores", Tags: tags},
		rbac.VulnsRead, func(ctx context.Context, _ *struct{}) (*kevStatusOutput, error) {
			out := &kevStatusOutput{}
			var err error
			if out.Body.KEVStatus, err = s.KEVStatusGet(ctx); err != nil {
				return nil, err
			}
			if out.Body.Journal, err = s.KEVJournal(ctx, 20); err != nil {
				return nil, err
			}
			out.Body.EPSS, err = s.EPSSStatusGet(ctx)
			return out, err
		})
	r.HandleDocumented(huma.Operation{OperationID: "upload-kev", Method: http.MethodPost, Path: "/api/v1/kev/upload",
		Summary: "Load a KEV catalog file (an offline install's copy) and re-enrich what changed", Tags: tags,
		Description: "The multipart part named file is CISA's known_exploited_vulnerabilities.json. It is validated as a sync's download is: " +
			"a catalog that is not one, or that would remove more than 10% of the stored entries without ?force=true, is refused (422) and the last good one stays.",
		Parameters: []*huma.Param{httpapi.QueryParam("force", "true accepts a catalog that removes more than 10% of the stored entries")},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"multipart/form-data": {Schema: &huma.Schema{
			Type: "object", Required: []string{"file"},
			Properties: map[string]*huma.Schema{"file": {Type: "string", Format: "binary", Description: "the KEV catalog (JSON)"}}}}}},
		Responses: map[string]*huma.Response{
			"200": {Description: "Loaded.", Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{
				Ref: "#/components/schemas/KEVSyncResult"}}}},
			"400": httpapi.ProblemResponse("Not multipart, or no file part."),
			"413": httpapi.ProblemResponse("Larger than the largest catalog read."),
			"422": httpapi.ProblemResponse("Not a KEV catalog, or it would remove too many entries."),
		}},
		rbac.KEVSync, http.HandlerFunc(s.serveKEVUpload))
	httpapi.Register(r, huma.Operation{OperationID: "sync-kev", Method: http.MethodPost, Path: "/api/v1/kev/sync",
		Summary: "Download the KEV catalog from the configured kev_url now and re-enrich what changed", Tags: tags,
		Description: "A catalog that fails validation is refused (422) and the last good one stays."},
		rbac.KEVSync, func(ctx context.Context, _ *struct{}) (*kevSyncOutput, error) {
			// Only the configured URL: a URL from the request would let the
			// API fetch what an operator did not choose.
			if kevURL == "" {
				return nil, huma.Error422UnprocessableEntity("no kev_url is configured")
			}
			res, err := s.EnrichWithKEV(ctx, KEVSource{URL: kevURL}, actor(ctx))
			if err != nil {
				return nil, huma.Error422UnprocessableEntity("KEV sync failed: " + err.Error())
			}
			return &kevSyncOutput{Body: *res}, nil
		})
}

// serveKEVUpload loads the uploaded catalog as a sync would a download.
func (s *Service) serveKEVUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxKEVBytes+64<<10)
	f, hdr, err := r.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the catalog is larger than %d bytes", MaxKEVBytes))
			return
		}
		httpapi.WriteProblem(w, r, http.StatusBadRequest, `send the catalog as multipart/form-data with a "file" part`)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKEVBytes+1))
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "read the upload: "+err.Error())
		return
	}
	if len(data) > MaxKEVBytes {
		httpapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the catalog is larger than %d bytes", MaxKEVBytes))
		return
	}
	res, err := s.EnrichWithKEV(r.Context(), KEVSource{Upload: data, UploadName: hdr.Filename, Force: r.URL.Query().Get("force") == "true"},
		actor(r.Context()))
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusUnprocessableEntity, "KEV catalog refused: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
