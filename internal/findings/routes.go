package findings

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/export"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

// TenantResourceKey mirrors auth.TenantResourceKey without importing auth.
const TenantResourceKey = "tenant_resource"

type listInput struct {
	Severity []string `query:"severity" doc:"Any of critical, high, medium, low, informational (comma-separated)."`
	Status   []string `query:"status" doc:"Any of open, resolved, reopened, muted, false_positive, out_of_scope."`
	Result   []string `query:"result" doc:"Any of fail, pass, manual (Prowler MANUAL: not a failure)."`
	Provider []string `query:"provider" doc:"Any of the providers (aws, gcp, azure, ...)."`
	Tool     []string `query:"tool"`
	Account  []string `query:"account"`
	Region   []string `query:"region"`
	Service  []string `query:"service"`
	Check    []string `query:"check"`
	Resource string   `query:"resource" maxLength:"500" doc:"Substring of the resource UID or name."`
	Scan     string   `query:"scan" maxLength:"64" doc:"A ScanRun or import ID: the findings it reported."`
	Text     string   `query:"q" maxLength:"500" doc:"Substring of title, check, resource or location."`
	Sort     string   `query:"sort" enum:"severity,last_seen,first_seen,title,business_tier," doc:"Default severity. business_tier: the tightest business tier first, the most severe first within a tier, findings no business impact analysis names last."`
	Order    string   `query:"order" enum:"asc,desc," doc:"Default desc, asc for title and business_tier."`
	Cursor   string   `query:"cursor" maxLength:"500"`
	Limit    int      `query:"limit" minimum:"0" maximum:"500" default:"50"`
	Facets   bool     `query:"facets" doc:"Also count the matches by severity, status, tool, service, account and region."`
	Assignee []string `query:"assignee" doc:"User IDs, or none for unassigned findings."`
	Triage   []string `query:"triage" doc:"Any of none, false_positive, out_of_scope, muted, risk_accepted, risk_pending."`
	NewSince bool     `query:"new_since_previous_scan" doc:"Only findings first seen in the latest scan of their scope."`
	Tier     []int    `query:"business_tier" doc:"Any of the business tiers 1 (mission critical) to 5: findings on resources a business impact analysis of that tier depends on."`
}

func (in *listInput) params(teamID string) ListParams {
	p := ListParams{TeamID: teamID, Severity: in.Severity, Status: in.Status, Tool: in.Tool, Account: in.Account, Region: in.Region,
		Service: in.Service, Check: in.Check, Resource: in.Resource, Scan: in.Scan, Text: in.Text, Sort: in.Sort, Cursor: in.Cursor,
		Limit: in.Limit, Facets: in.Facets, Result: in.Result, Provider: in.Provider, Assignee: in.Assignee, Triage: in.Triage,
		NewSincePreviousScan: in.NewSince, BusinessTier: in.Tier}
	if in.Order != "" {
		desc := in.Order == "desc"
		p.Desc = &desc
	}
	return p
}

type listOutput struct{ Body ListResult }

type detailInput struct {
	ID int64 `path:"id" minimum:"1"`
}

type detailOutput struct{ Body Detail }

type overviewInput struct {
	Days     int      `query:"days" minimum:"0" maximum:"365" default:"30"`
	Provider []string `query:"provider" doc:"Only these providers (comma-separated)."`
	Account  []string `query:"account" doc:"Only these accounts (comma-separated)."`
	Region   []string `query:"region" doc:"Only these regions (comma-separated)."`
}

type overviewOutput struct{ Body Overview }

func toHTTP(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, ErrBadCursor):
		return huma.Error400BadRequest("invalid cursor")
	case errors.As(err, new(*SortTooBroadError)):
		return huma.Error422UnprocessableEntity(err.Error())
	case strings.HasPrefix(err.Error(), "unknown "):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return err
}

// RegisterRoutes adds the findings explorer's API.
func (s *Store) RegisterRoutes(r *httpapi.Router) {
	httpapi.Register(r, huma.Operation{OperationID: "list-findings", Method: http.MethodGet, Path: "/api/v1/findings",
		Summary: "Findings, filtered, sorted and paged", Tags: []string{"Findings"},
		Description: "Server-side filters; a keyset cursor for paging; total is the count of all matches."},
		rbac.FindingsRead, func(ctx context.Context, in *listInput) (*listOutput, error) {
			res, err := s.FindingList(ctx, in.params(team.FromContext(ctx)))
			if err != nil {
				return nil, toHTTP(err)
			}
			// One lookup for the page, never one per finding.
			if err := withTickets(ctx, s.TicketLookup, team.FromContext(ctx), res.Findings); err != nil {
				return nil, err
			}
			return &listOutput{Body: res}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-finding", Method: http.MethodGet, Path: "/api/v1/findings/{id}",
		Summary: "One finding with its history and OCSF JSON", Tags: []string{"Findings"},
		Metadata: map[string]any{TenantResourceKey: "finding"}},
		rbac.FindingsRead, func(ctx context.Context, in *detailInput) (*detailOutput, error) {
			d, err := s.FindingGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			one := []Finding{d.Finding}
			if err := withTickets(ctx, s.TicketLookup, team.FromContext(ctx), one); err != nil {
				return nil, err
			}
			d.Finding = one[0]
			return &detailOutput{Body: d}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-posture-overview", Method: http.MethodGet, Path: "/api/v1/posture/overview",
		Summary: "Pass and fail by provider, account, region, service and check, open failures by severity, and a daily trend", Tags: []string{"Findings"},
		Description: "Counts are in resources (a finding is one resource of one check): passed, failed (open failures), manual (Prowler MANUAL, " +
			"not a failure) and muted; the pass rate is passed / (passed + failed)."},
		rbac.FindingsRead, func(ctx context.Context, in *overviewInput) (*overviewOutput, error) {
			o, err := s.PostureOverview(ctx, team.FromContext(ctx), in.Days, PostureFilter{Provider: in.Provider, Account: in.Account, Region: in.Region})
			if err != nil {
				return nil, toHTTP(err)
			}
			return &overviewOutput{Body: o}, nil
		})
	exportParams := []*huma.Param{httpapi.QueryParam("format", "csv (the default) or json (JSON lines)")}
	for _, p := range []struct{ name, doc string }{{"severity", "comma-separated severities"}, {"status", "comma-separated statuses"},
		{"tool", "comma-separated tools"}, {"account", "comma-separated account IDs"}, {"region", "comma-separated regions"},
		{"service", "comma-separated services"}, {"check", "comma-separated check IDs"}, {"resource", "resource UID"},
		{"scan", "scan or import ID"}, {"q", "text search"}, {"result", "comma-separated results: fail, pass, manual"},
		{"provider", "comma-separated providers"}, {"assignee", "comma-separated user IDs, or none"},
		{"triage", "comma-separated triage states"}, {"new_since_previous_scan", "true: only findings new in the latest scan of their scope"},
		{"business_tier", "comma-separated business tiers, 1 to 5"}} {
		exportParams = append(exportParams, httpapi.QueryParam(p.name, p.doc))
	}
	r.HandleDocumented(huma.Operation{OperationID: "export-findings", Method: http.MethodGet, Path: "/api/v1/findings/export",
		Summary: "Export the findings that match the list's filters", Tags: []string{"Findings"},
		Description: "Streams every match, a page at a time: CSV (cells a spreadsheet would run as formulas are quoted) or JSON lines.",
		Parameters:  exportParams,
		Responses: map[string]*huma.Response{
			"200": {Description: "The findings.", Content: map[string]*huma.MediaType{
				"text/csv":             {Schema: &huma.Schema{Type: "string"}},
				"application/x-ndjson": {Schema: &huma.Schema{Type: "string"}}}},
			"401": httpapi.ProblemResponse("Not signed in."),
			"422": httpapi.ProblemResponse("An unknown format or filter value."),
		}},
		rbac.FindingsRead, http.HandlerFunc(s.serveExport))
	s.registerMuteRoutes(r)
}

// serveExport streams the filtered findings as CSV or JSON lines, a page
// at a time, so that an export of a million findings holds one page in memory.
func (s *Store) serveExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	split := func(k string) []string {
		if v := q.Get(k); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	p := ListParams{TeamID: team.FromContext(r.Context()), Severity: split("severity"), Status: split("status"), Tool: split("tool"),
		Account: split("account"), Region: split("region"), Service: split("service"), Check: split("check"),
		Resource: q.Get("resource"), Scan: q.Get("scan"), Text: q.Get("q"), Limit: 500, Result: split("result"), Provider: split("provider"),
		Assignee: split("assignee"), Triage: split("triage"), NewSincePreviousScan: q.Get("new_since_previous_scan") == "true"}
	for _, t := range split("business_tier") {
		n, err := strconv.Atoi(t)
		if err != nil {
			httpapi.WriteProblem(w, r, http.StatusUnprocessableEntity, "business_tier must be tiers 1 to 5, comma-separated")
			return
		}
		p.BusinessTier = append(p.BusinessTier, n)
	}
	format := q.Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		httpapi.WriteProblem(w, r, http.StatusUnprocessableEntity, "format must be csv or json")
		return
	}
	first, err := s.FindingList(r.Context(), p)
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="findings.csv"`)
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="findings.jsonl"`)
	}
	cw := export.NewCSVWriter(w)
	enc := json.NewEncoder(w)
	if format == "csv" {
		_ = cw.Write([]string{"id", "status", "severity", "result", "tool", "check_id", "title", "provider", "account_uid", "region",
			"service", "resource_uid", "target", "location", "component", "version", "fixed_version", "vuln_ids", "first_seen", "last_seen", "business_tier"})
	}
	page := first
	for {
		for i := range page.Findings {
			f := &page.Findings[i]
			if format == "csv" {
				_ = cw.Write([]string{strconv.FormatInt(f.ID, 10), f.Status, f.Severity, f.Result, f.Tool, f.CheckID, f.Title, f.Provider,
					f.AccountUID, f.Region, f.Service, f.ResourceUID, f.Target, f.Location, f.Component, f.Version, f.FixedVersion,
					strings.Join(f.VulnIDs, " "), f.FirstSeen.UTC().Format("2006-01-02T15:04:05Z"), f.LastSeen.UTC().Format("2006-01-02T15:04:05Z"), strconv.Itoa(f.BusinessTier)})
			} else if err := enc.Encode(f); err != nil {
				return // the client went away
			}
		}
		cw.Flush()
		if page.NextCursor == "" || r.Context().Err() != nil {
			return
		}
		p.Cursor = page.NextCursor
		if page, err = s.FindingList(r.Context(), p); err != nil {
			return // headers are sent: the truncated body is the only signal left
		}
	}
}
