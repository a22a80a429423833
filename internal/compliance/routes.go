package compliance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

// SharedResource marks, in an operation's metadata (auth.TenantResourceKey),
// a path ID that names content shared by every team (a framework, an SCF
// control): every team sees it, with its own scores.
const SharedResource = "shared"

// Inserter enqueues jobs outside a transaction (a River client).
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

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
	case errors.Is(err, ErrMissingDependency), errors.Is(err, ErrInvalid):
		return huma.Error422UnprocessableEntity(err.Error())
	case errors.Is(err, ErrBadContent):
		return huma.Error400BadRequest(err.Error())
	}
	return err
}

type uploadForm struct {
	File huma.FormFile `form:"file" required:"true" doc:"The content file."`
}

type importInput struct {
	RawBody huma.MultipartFormFiles[uploadForm]
}

type importOutput struct{ Body ContentImportResult }

type frameworksOutput struct {
	Body struct {
		Frameworks []FrameworkSummary `json:"frameworks"`
	}
}

type idInput struct {
	ID string `path:"id" maxLength:"300" doc:"Framework ID or URN."`
}

type frameworkOutput struct{ Body FrameworkDetail }

type exportInput struct {
	ID     string `path:"id" maxLength:"300" doc:"Framework ID or URN."`
	Format string `query:"format" enum:"csv,xlsx" default:"csv"`
}

type exportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

type controlInput struct {
	ID string `path:"id" maxLength:"300" doc:"SCF control URN, or reference (GOV-02) in the primary SCF version."`
}

type controlOutput struct{ Body ControlDetail }

type overviewInput struct {
	Days int `query:"days" minimum:"1" maximum:"365" default:"30"`
}

type overviewOutput struct{ Body ComplianceOverview }

type syncStatusOutput struct{ Body SyncStatus }

type syncInput struct {
	Body *struct {
		Checks []string `json:"checks,omitempty" maxItems:"10000" doc:"Only the controls these check IDs reach; absent: a full sync."`
	}
}

type syncOutput struct{ Body SyncResult }

type attestationListInput struct {
	Control string `query:"control" maxLength:"300" doc:"Only this SCF control's (URN or reference)."`
}

type attestationListOutput struct {
	Body struct {
		Attestations []Attestation `json:"attestations"`
	}
}

type attestationForm struct {
	Control   string        `form:"control" doc:"SCF control URN or reference."`
	Statement string        `form:"statement"`
	Owner     string        `form:"owner"`
	ExpiresAt string        `form:"expires_at" doc:"RFC 3339."`
	File      huma.FormFile `form:"file" doc:"Optional evidence file."`
}

type attestationCreateInput struct {
	RawBody huma.MultipartFormFiles[attestationForm]
}

type attestationIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type attestationUpdateInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Statement string    `json:"statement" minLength:"1" maxLength:"10000"`
		Owner     string    `json:"owner,omitempty" maxLength:"200"`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

type attestationOutput struct{ Body Attestation }

type evidenceOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func formValue(f map[string][]string, key string) string {
	if v := f[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// RegisterRoutes adds the compliance API. jobs, when set, gets a forced
// snapshot job after content changes, so that every team is scored on the
// new content.
func (s *Service) RegisterRoutes(r *httpapi.Router, jobs Inserter) {
	tags := []string{"Compliance"}
	shared := map[string]any{auth.TenantResourceKey: SharedResource}
	importContent := func(scfOnly bool) func(ctx context.Context, in *importInput) (*importOutput, error) {
		return func(ctx context.Context, in *importInput) (*importOutput, error) {
			f := in.RawBody.Data().File
			defer f.Close()
			data, err := io.ReadAll(io.LimitReader(f, MaxContentBytes+1))
			if err != nil {
				return nil, huma.Error400BadRequest("reading the upload: " + err.Error())
			}
			if scfOnly && !bytes.HasPrefix(data, zipMagic) {
				return nil, huma.Error400BadRequest("not an SCF workbook: expected an .xlsx file")
			}
			res, err := s.ImportFile(ctx, bytes.NewReader(data), actor(ctx))
			if err != nil {
				return nil, toHTTP(err)
			}
			changed := false
			for _, it := range res.Items {
				changed = changed || it.Outcome != "unchanged"
			}
			if changed && jobs != nil {
				if _, err := jobs.Insert(ctx, SnapshotArgs{Force: true}, nil); err != nil {
					s.logger.Warn("could not enqueue compliance sync after content import", "err", err)
				}
			}
			return &importOutput{Body: res}, nil
		}
	}
	importDesc := "Synchronous (a 3 MB workbook loads in a few seconds); every team is then re-scored by a compliance_snapshot job. " +
		"The same content again is reported unchanged."
	httpapi.Register(r, huma.Operation{OperationID: "import-scf", Method: http.MethodPost, Path: "/api/v1/compliance/scf/import",
		Summary: "Import the official SCF workbook (.xlsx)", Tags: tags, Description: importDesc, MaxBodyBytes: MaxContentBytes + 1<<20},
		rbac.ComplianceManage, importContent(true))
	httpapi.Register(r, huma.Operation{OperationID: "import-compliance-content", Method: http.MethodPost,
		Path: "/api/v1/compliance/frameworks/import", Summary: "Import a framework library (YAML), a Prowler compliance map (JSON) or an SCF workbook",
		Tags: tags, Description: importDesc + " A mapping set whose frameworks are not loaded is refused (422) naming the library to load.",
		MaxBodyBytes: MaxContentBytes + 1<<20},
		rbac.ComplianceManage, importContent(false))
	httpapi.Register(r, huma.Operation{OperationID: "list-compliance-frameworks", Method: http.MethodGet, Path: "/api/v1/compliance/frameworks",
		Summary: "Loaded frameworks with the team's score and requirements by status", Tags: tags},
		rbac.ComplianceRead, func(ctx context.Context, _ *struct{}) (*frameworksOutput, error) {
			list, err := s.FrameworkList(ctx, team.FromContext(ctx))
			if err != nil {
				return nil, err
			}
			out := &frameworksOutput{}
			out.Body.Frameworks = list
			return out, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-compliance-framework", Method: http.MethodGet, Path: "/api/v1/compliance/frameworks/{id}",
		Summary: "A framework's requirement tree with the team's status and score per node", Tags: tags, Metadata: shared},
		rbac.ComplianceRead, func(ctx context.Context, in *idInput) (*frameworkOutput, error) {
			d, err := s.FrameworkGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &frameworkOutput{Body: d}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "export-compliance-framework", Method: http.MethodGet,
		Path: "/api/v1/compliance/frameworks/{id}/export", Summary: "The team's status of a framework as CSV or XLSX", Tags: tags, Metadata: shared},
		rbac.ComplianceRead, func(ctx context.Context, in *exportInput) (*exportOutput, error) {
			body, ct, name, err := s.Export(ctx, team.FromContext(ctx), in.ID, in.Format)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &exportOutput{ContentType: ct, ContentDisposition: `attachment; filename="` + name + `"`, Body: body}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-compliance-control", Method: http.MethodGet, Path: "/api/v1/compliance/controls/{id}",
		Summary: "An SCF control: the team's result, evidence per check, failing findings, attestations and the requirements it satisfies",
		Tags:    tags, Metadata: shared},
		rbac.ComplianceRead, func(ctx context.Context, in *controlInput) (*controlOutput, error) {
			d, err := s.ControlGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &controlOutput{Body: d}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-compliance-overview", Method: http.MethodGet, Path: "/api/v1/compliance/overview",
		Summary: "Overall score, score per framework, SCF domain heatmap and the trend", Tags: tags},
		rbac.ComplianceRead, func(ctx context.Context, in *overviewInput) (*overviewOutput, error) {
			o, err := s.Overview(ctx, team.FromContext(ctx), in.Days)
			if err != nil {
				return nil, err
			}
			return &overviewOutput{Body: o}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-compliance-sync-status", Method: http.MethodGet, Path: "/api/v1/compliance/sync",
		Summary: "The team's last compliance syncs", Tags: tags},
		rbac.ComplianceRead, func(ctx context.Context, _ *struct{}) (*syncStatusOutput, error) {
			st, err := s.SyncStatusGet(ctx, team.FromContext(ctx))
			if err != nil {
				return nil, err
			}
			return &syncStatusOutput{Body: st}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "sync-compliance-engine", Method: http.MethodPost, Path: "/api/v1/compliance-engine/sync",
		Summary: "Score the team's SCF controls from its findings now", Tags: tags,
		Description: "The seed's AutonomousComplianceEngine sync; synchronous (a full sync takes well under the request timeout)."},
		rbac.ComplianceSync, func(ctx context.Context, in *syncInput) (*syncOutput, error) {
			var checks []string
			if in.Body != nil && in.Body.Checks != nil {
				checks = in.Body.Checks
			}
			teamID := team.FromContext(ctx)
			res, err := s.Engine.Sync(ctx, teamID, checks)
			if err != nil {
				return nil, err
			}
			a := actor(ctx)
			a.TeamID = teamID
			s.record(ctx, a, "compliance.synced", "team", teamID, map[string]any{"full": res.Full, "controls": res.ControlsTouched})
			return &syncOutput{Body: res}, nil
		})
	s.registerAttestationRoutes(r, tags)
}

func (s *Service) registerAttestationRoutes(r *httpapi.Router, tags []string) {
	tenant := map[string]any{auth.TenantResourceKey: "attestation"}
	httpapi.Register(r, huma.Operation{OperationID: "list-compliance-attestations", Method: http.MethodGet,
		Path: "/api/v1/compliance/attestations", Summary: "The team's attestations", Tags: tags},
		rbac.ComplianceRead, func(ctx context.Context, in *attestationListInput) (*attestationListOutput, error) {
			list, err := s.AttestationList(ctx, team.FromContext(ctx), in.Control)
			if err != nil {
				return nil, err
			}
			out := &attestationListOutput{}
			out.Body.Attestations = list
			return out, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "create-compliance-attestation", Method: http.MethodPost,
		Path: "/api/v1/compliance/attestations", Summary: "Attest an SCF control no scanner can test (multipart: fields and an optional evidence file)",
		Tags: tags, DefaultStatus: http.StatusCreated, MaxBodyBytes: s.MaxEvidenceBytes + 1<<20},
		rbac.ComplianceManage, func(ctx context.Context, in *attestationCreateInput) (*attestationOutput, error) {
			form := in.RawBody.Form
			p := AttestationParams{Control: formValue(form.Value, "control"), Statement: formValue(form.Value, "statement"),
				Owner: formValue(form.Value, "owner")}
			exp, err := time.Parse(time.RFC3339, strings.TrimSpace(formValue(form.Value, "expires_at")))
			if err != nil {
				return nil, huma.Error422UnprocessableEntity("expires_at must be an RFC 3339 time")
			}
			p.ExpiresAt = exp
			var ev *Evidence
			if fh := form.File["file"]; len(fh) > 0 {
				f, err := fh[0].Open()
				if err != nil {
					return nil, huma.Error400BadRequest("reading the evidence: " + err.Error())
				}
				defer f.Close()
				ev = &Evidence{Name: fh[0].Filename, Body: f}
			}
			a, err := s.AttestationCreate(ctx, team.FromContext(ctx), p, ev, actor(ctx))
			if err != nil {
				return nil, toHTTP(err)
			}
			return &attestationOutput{Body: a}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-compliance-attestation", Method: http.MethodGet,
		Path: "/api/v1/compliance/attestations/{id}", Summary: "One attestation", Tags: tags, Metadata: tenant},
		rbac.ComplianceRead, func(ctx context.Context, in *attestationIDInput) (*attestationOutput, error) {
			a, err := s.AttestationGet(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			return &attestationOutput{Body: a}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "update-compliance-attestation", Method: http.MethodPatch,
		Path: "/api/v1/compliance/attestations/{id}", Summary: "Change an attestation's statement, owner or expiry", Tags: tags, Metadata: tenant},
		rbac.ComplianceManage, func(ctx context.Context, in *attestationUpdateInput) (*attestationOutput, error) {
			a, err := s.AttestationUpdate(ctx, team.FromContext(ctx), in.ID, AttestationParams{Statement: in.Body.Statement,
				Owner: in.Body.Owner, ExpiresAt: in.Body.ExpiresAt}, actor(ctx))
			if err != nil {
				return nil, toHTTP(err)
			}
			return &attestationOutput{Body: a}, nil
		})
	httpapi.Register(r, huma.Operation{OperationID: "delete-compliance-attestation", Method: http.MethodDelete,
		Path: "/api/v1/compliance/attestations/{id}", Summary: "Withdraw an attestation and delete its evidence", Tags: tags, Metadata: tenant,
		DefaultStatus: http.StatusNoContent},
		rbac.ComplianceManage, func(ctx context.Context, in *attestationIDInput) (*struct{}, error) {
			return nil, toHTTP(s.AttestationDelete(ctx, team.FromContext(ctx), in.ID, actor(ctx)))
		})
	httpapi.Register(r, huma.Operation{OperationID: "get-compliance-attestation-evidence", Method: http.MethodGet,
		Path: "/api/v1/compliance/attestations/{id}/evidence", Summary: "Download an attestation's evidence file", Tags: tags, Metadata: tenant},
		rbac.ComplianceRead, func(ctx context.Context, in *attestationIDInput) (*evidenceOutput, error) {
			rc, a, err := s.AttestationEvidence(ctx, team.FromContext(ctx), in.ID)
			if err != nil {
				return nil, toHTTP(err)
			}
			defer rc.Close()
			body, err := io.ReadAll(io.LimitReader(rc, s.MaxEvidenceBytes+1))
			if err != nil {
				return nil, err
			}
			return &evidenceOutput{ContentType: "application/octet-stream",
				ContentDisposition: `attachment; filename="` + a.EvidenceName + `"`, Body: body}, nil
		})
}
