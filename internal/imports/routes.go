package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/artifact"
	"github.com/offloadsecurity/cspm/internal/auth"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/findings"
	"github.com/offloadsecurity/cspm/internal/httpapi"
	"github.com/offloadsecurity/cspm/internal/ingest"
	"github.com/offloadsecurity/cspm/internal/nativescans"
	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/team"
)

type getInput struct {
	ID string `path:"id" maxLength:"64"`
}

type getOutput struct{ Body nativescans.ScanResult }

// RegisterRoutes adds POST /api/v1/imports (multipart upload, streamed) and
// GET /api/v1/imports/{id}.
func (s *Service) RegisterRoutes(r *httpapi.Router, scans *nativescans.Service) {
	r.HandleDocumented(huma.Operation{OperationID: "upload-import", Method: http.MethodPost, Path: "/api/v1/imports",
		Summary: "Upload a scanner report to import", Tags: []string{"Findings"},
		Description: "Streams the multipart part named file (up to import_max_bytes) to the artifact store and queues its import; " +
			"poll GET /api/v1/imports/{id}. The format is detected from the content unless ?format= names one.",
		Parameters: []*huma.Param{httpapi.QueryParam("format", "force a format: "+strings.Join(ingest.FormatNames(), ", ")),
			httpapi.QueryParam("scope", "what the scan behind the report covered, even when the report is empty: target=HOST|URL|IMAGE|PATH, or account=ID,region=R; its findings the report does not list are resolved")},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"multipart/form-data": {Schema: &huma.Schema{
			Type: "object", Required: []string{"file"},
			Properties: map[string]*huma.Schema{"file": {Type: "string", Format: "binary", Description: "the report"}}}}}},
		Responses: map[string]*huma.Response{
			"202": {Description: "Queued; Location names the import.", Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{
				Type: "object", Properties: map[string]*huma.Schema{"scan_id": {Type: "string"}, "status": {Type: "string"}}}}}},
			"400": httpapi.ProblemResponse("Not multipart, no file part, or an unknown format."),
			"401": httpapi.ProblemResponse("Not signed in."),
			"403": httpapi.ProblemResponse("The role may not import."),
			"413": httpapi.ProblemResponse("Larger than import_max_bytes; nothing is kept."),
		}},
		rbac.FindingsImport, http.HandlerFunc(s.serveUpload))
	httpapi.Register(r, huma.Operation{OperationID: "get-import", Method: http.MethodGet, Path: "/api/v1/imports/{id}",
		Summary: "An import's status and counts", Tags: []string{"Findings"},
		Description: "While the import runs, status is running and items_read grows (updated about once a second).", Metadata: map[string]any{"tenant_resource": "scan"}},
		rbac.FindingsRead, func(ctx context.Context, in *getInput) (*getOutput, error) {
			rec, err := scans.ScanResultGet(ctx, team.FromContext(ctx), in.ID)
			if errors.Is(err, db.ErrNotFound) || (err == nil && rec.Source != "import") {
				return nil, huma.Error404NotFound("not found")
			}
			if err != nil {
				return nil, err
			}
			if rec, err = s.WithProgress(ctx, rec); err != nil {
				return nil, err
			}
			return &getOutput{Body: rec}, nil
		})
}

// serveUpload streams the "file" part of a multipart form to the artifact
// store. ?format= forces a format; otherwise it is detected when the job runs.
func (s *Service) serveUpload(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, `send the report as multipart/form-data with a "file" part`)
		return
	}
	format := r.URL.Query().Get("format")
	if err := CheckFormat(format); err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	covers, err := findings.ParseCoverage(r.URL.Query().Get("scope"))
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	// Room for the multipart framing around the file.
	r.Body = http.MaxBytesReader(w, r.Body, s.MaxBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "malformed multipart body: "+err.Error())
		return
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			httpapi.WriteProblem(w, r, http.StatusBadRequest, `no "file" part in the form`)
			return
		}
		if err != nil {
			s.uploadError(w, r, err)
			return
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		name := part.FileName()
		if name == "" {
			name = "report"
		}
		rec, err := s.Upload(r.Context(), p.TeamID(), p.User.ID, p.User.Email, name, format, covers, part)
		if err != nil {
			s.uploadError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/api/v1/imports/"+rec.ID)
		w.WriteHeader(http.StatusAccepted)
		_, _ = fmt.Fprintf(w, `{"scan_id":%q,"status":%q}`+"\n", rec.ID, rec.Status)
		return
	}
}

func (s *Service) uploadError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, artifact.ErrTooLarge):
		httpapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the report is larger than the %d-byte limit (import_max_bytes)", s.MaxBytes))
	case errors.Is(err, ErrBadFormat):
		httpapi.WriteProblem(w, r, http.StatusBadRequest, err.Error())
	case strings.Contains(err.Error(), "multipart"):
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "malformed multipart body: "+err.Error())
	default:
		s.Logger.Error("upload failed", "err", err)
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, "the upload failed")
	}
}
