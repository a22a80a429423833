package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
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

// Tenant resources a knowledge route's {id} names (auth.TenantResourceKey).
const (
	DocumentResource     = "kb_document"
	ChunkResource        = "kb_chunk"
	ConversationResource = "kb_conversation"
)

// userID is the caller's user ID ("" without a principal).
func userID(ctx context.Context) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.User.ID
	}
	return ""
}

func actor(ctx context.Context) audit.Event {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.AuditActor()
	}
	return audit.Event{}
}

func toHTTP(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, db.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, ErrTooLarge), errors.As(err, &tooBig):
		return huma.NewError(http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, ErrUnsupported):
		return huma.NewError(http.StatusUnsupportedMediaType, err.Error())
	case errors.Is(err, ErrInvalid):
		return huma.Error422UnprocessableEntity(err.Error())
	case errors.Is(err, ErrNotConfigured):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, ErrBudgetSpent):
		return huma.Error429TooManyRequests(err.Error())
	}
	return err
}

type docListInput struct {
	Tag string `query:"tag" maxLength:"50" doc:"Only documents with this tag."`
}
type docListOutput struct {
	Body struct {
		Documents []Document `json:"documents"`
		MaxBytes  int64      `json:"max_bytes" doc:"The upload size limit (kb_max_bytes)."`
	}
}
type docIDInput struct {
	ID string `path:"id" maxLength:"64"`
}
type docOutput struct{ Body Document }
type docVersionsOutput struct {
	Body struct {
		Versions []DocumentVersion `json:"versions"`
	}
}
type docTagsInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Tags []string `json:"tags" maxItems:"20"`
	}
}
type searchInput struct {
	Q          string   `query:"q" required:"true" minLength:"1" maxLength:"2000"`
	DocumentID []string `query:"document_id" doc:"Only these documents."`
	Tag        []string `query:"tag" doc:"Only documents with one of these tags."`
	Limit      int      `query:"limit" minimum:"1" maximum:"50" default:"10"`
}
type searchOutput struct {
	Body struct {
		Passages []Passage `json:"passages"`
		// Mode is "hybrid" when vectors took part, "full_text" otherwise.
		Mode string `json:"mode" enum:"hybrid,full_text"`
	}
}
type chunkOutput struct{ Body Passage }

// AskRequest is a question to the knowledge base.
type AskRequest struct {
	Question    string   `json:"question" minLength:"1" maxLength:"2000"`
	DocumentIDs []string `json:"document_ids,omitempty" maxItems:"100"`
	Tags        []string `json:"tags,omitempty" maxItems:"20"`
	// ConversationID continues one of the caller's conversations: its
	// recent turns go to the model with the question.
	ConversationID string `json:"conversation_id,omitempty" maxLength:"64" doc:"Continue this conversation of yours; omit to start one."`
}
type askInput struct{ Body AskRequest }
type askOutput struct{ Body Answer }
type settingsOutput struct{ Body ProviderSettings }
type convListOutput struct {
	Body struct {
		Conversations []Conversation `json:"conversations"`
	}
}
type convOutput struct{ Body ConversationDetail }
type settingsInput struct{ Body ProviderSettingsUpdate }

// RegisterRoutes adds the knowledge base API under /api/v1/knowledge.
func (s *Service) RegisterRoutes(r *httpapi.Router) {
	tags := []string{"Knowledge base"}
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags}
	}
	doc := func(o huma.Operation) huma.Operation {
		o.Metadata = map[string]any{auth.TenantResourceKey: DocumentResource}
		return o
	}

	httpapi.Register(r, op("list-kb-documents", http.MethodGet, "/api/v1/knowledge/documents", "The team's documents"),
		rbac.KBRead, func(ctx context.Context, in *docListInput) (*docListOutput, error) {
			list, err := s.DocumentList(ctx, team.FromContext(ctx), DocumentListParams{Tag: in.Tag})
			if err != nil {
				return nil, err
			}
			out := &docListOutput{}
			out.Body.Documents, out.Body.MaxBytes = list, s.maxBytes
			return out, nil
		})
	r.HandleDocumented(huma.Operation{OperationID: "upload-kb-documents", Method: http.MethodPost, Path: "/api/v1/knowledge/documents",
		Summary: "Upload documents (Markdown, text, HTML, PDF, DOCX) or zip archives of them", Tags: tags,
		Description: "Multipart parts named file, each up to kb_max_bytes, and an optional tags part (comma-separated). A file " +
			"with the name of an existing document is a new version of it when its content changed, and nothing when it did " +
			"not. Each file is checked whole before anything is written: on an error no file of the request is kept. " +
			"A .zip part is expanded: each supported file inside becomes a document named by its path in the archive, tagged " +
			"folder:<its folder>; files of other types, unsafe paths (absolute, \"..\") and nested archives are listed in " +
			"skipped. An archive of more than 1000 entries, more than 5 x kb_max_bytes uncompressed, or an entry that expands " +
			"more than 100 times is refused (413). " +
			"Chunking and embedding run in the background; the document's status and counts show their progress.",
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"multipart/form-data": {Schema: &huma.Schema{
			Type: "object", Required: []string{"file"},
			Properties: map[string]*huma.Schema{
				"file": {Type: "array", Items: &huma.Schema{Type: "string", Format: "binary"}, Description: "the documents"},
				"tags": {Type: "string", Description: "comma-separated tags for every file"}}}}}},
		Responses: map[string]*huma.Response{
			"201": {Description: "Uploaded; each result says whether the content changed.", Content: map[string]*huma.MediaType{
				"application/json": {Schema: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
					"results": {Type: "array", Items: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
						"document": {Ref: "#/components/schemas/Document"}, "changed": {Type: "boolean"}}}},
					"skipped": {Type: "array", Description: "Files of an archive that were not imported, and why.",
						Items: &huma.Schema{Type: "object", Required: []string{"name", "reason"}, Properties: map[string]*huma.Schema{
							"name": {Type: "string"}, "reason": {Type: "string"}}}}}}}}},
			"400": httpapi.ProblemResponse("Not multipart, or no file part."),
			"413": httpapi.ProblemResponse("A file is larger than kb_max_bytes, or an archive exceeds its limits."),
			"415": httpapi.ProblemResponse("A file of a type the knowledge base does not read, or malformed."),
			"422": httpapi.ProblemResponse("Invalid tags."),
		}},
		rbac.KBManage, http.HandlerFunc(s.serveUpload))
	httpapi.Register(r, doc(op("get-kb-document", http.MethodGet, "/api/v1/knowledge/documents/{id}", "One document and its processing status")),
		rbac.KBRead, func(ctx context.Context, in *docIDInput) (*docOutput, error) {
			d, err := s.DocumentGet(ctx, team.FromContext(ctx), in.ID)
			return &docOutput{Body: d}, toHTTP(err)
		})
	httpapi.Register(r, doc(op("list-kb-document-versions", http.MethodGet, "/api/v1/knowledge/documents/{id}/versions", "A document's versions, newest first")),
		rbac.KBRead, func(ctx context.Context, in *docIDInput) (*docVersionsOutput, error) {
			v, err := s.DocumentVersions(ctx, team.FromContext(ctx), in.ID)
			out := &docVersionsOutput{}
			out.Body.Versions = v
			return out, toHTTP(err)
		})
	httpapi.Register(r, doc(op("set-kb-document-tags", http.MethodPut, "/api/v1/knowledge/documents/{id}/tags", "Replace a document's tags")),
		rbac.KBManage, func(ctx context.Context, in *docTagsInput) (*docOutput, error) {
			d, err := s.DocumentSetTags(ctx, team.FromContext(ctx), in.ID, in.Body.Tags, actor(ctx))
			return &docOutput{Body: d}, toHTTP(err)
		})
	del := doc(op("delete-kb-document", http.MethodDelete, "/api/v1/knowledge/documents/{id}", "Delete a document with every version, chunk and vector"))
	del.DefaultStatus = http.StatusNoContent
	httpapi.Register(r, del, rbac.KBManage, func(ctx context.Context, in *docIDInput) (*struct{}, error) {
		return nil, toHTTP(s.DocumentDelete(ctx, team.FromContext(ctx), in.ID, actor(ctx)))
	})
	httpapi.Register(r, op("search-kb", http.MethodGet, "/api/v1/knowledge/search", "Passages for a query: full text and vector similarity fused by reciprocal rank"),
		rbac.KBRead, func(ctx context.Context, in *searchInput) (*searchOutput, error) {
			teamID := team.FromContext(ctx)
			list, err := s.Search(ctx, teamID, SearchParams{Query: in.Q, DocumentIDs: in.DocumentID, Tags: in.Tag, Limit: in.Limit})
			if err != nil {
				return nil, toHTTP(err)
			}
			out := &searchOutput{}
			out.Body.Passages, out.Body.Mode = list, "full_text"
			for _, p := range list {
				if p.VectorRank > 0 {
					out.Body.Mode = "hybrid"
				}
			}
			return out, nil
		})
	chunk := op("get-kb-chunk", http.MethodGet, "/api/v1/knowledge/chunks/{id}", "One passage: what a citation points at")
	chunk.Metadata = map[string]any{auth.TenantResourceKey: ChunkResource}
	httpapi.Register(r, chunk, rbac.KBRead, func(ctx context.Context, in *docIDInput) (*chunkOutput, error) {
		p, err := s.ChunkGet(ctx, team.FromContext(ctx), in.ID)
		return &chunkOutput{Body: p}, toHTTP(err)
	})
	ask := op("ask-kb", http.MethodPost, "/api/v1/knowledge/ask", "Ask the team's documents; the answer cites its passages")
	ask.Description = "Refused with 429 when the team's monthly token budget is spent (the detail says when it resets), before any provider is called."
	ask.Errors = []int{http.StatusNotFound, http.StatusTooManyRequests}
	httpapi.Register(r, ask,
		rbac.KBRead, func(ctx context.Context, in *askInput) (*askOutput, error) {
			a, err := s.Ask(ctx, team.FromContext(ctx), AskParams{Question: in.Body.Question, DocumentIDs: in.Body.DocumentIDs, Tags: in.Body.Tags,
				UserID: userID(ctx), ConversationID: in.Body.ConversationID})
			if err != nil {
				return nil, s.askError(err)
			}
			return &askOutput{Body: a}, nil
		})
	r.HandleDocumented(huma.Operation{OperationID: "ask-kb-stream", Method: http.MethodPost, Path: "/api/v1/knowledge/ask/stream",
		Summary: "Ask, with the answer streamed as server-sent events", Tags: tags,
		Description: "The body is that of POST /api/v1/knowledge/ask. Events: delta ({\"text\"}) as the answer streams, then " +
			"answer (the whole Answer with its citations), or error ({\"detail\"}).",
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/AskRequest"}}}},
		Responses: map[string]*huma.Response{
			"200": {Description: "An event stream.", Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: "string"}}}},
			"400": httpapi.ProblemResponse("Not a JSON question."),
			"404": httpapi.ProblemResponse("No conversation of yours has that conversation_id."),
			"429": httpapi.ProblemResponse("The team's monthly token budget is spent; the detail says when it resets."),
		}},
		rbac.KBRead, http.HandlerFunc(s.serveAskStream))
	httpapi.Register(r, op("list-kb-conversations", http.MethodGet, "/api/v1/knowledge/conversations", "Your conversations, most recent first"),
		rbac.KBRead, func(ctx context.Context, _ *struct{}) (*convListOutput, error) {
			list, err := s.ConversationList(ctx, team.FromContext(ctx), userID(ctx))
			out := &convListOutput{}
			out.Body.Conversations = list
			return out, toHTTP(err)
		})
	conv := func(o huma.Operation) huma.Operation {
		o.Metadata = map[string]any{auth.TenantResourceKey: ConversationResource}
		return o
	}
	httpapi.Register(r, conv(op("get-kb-conversation", http.MethodGet, "/api/v1/knowledge/conversations/{id}",
		"One of your conversations with its questions, answers and citations")),
		rbac.KBRead, func(ctx context.Context, in *docIDInput) (*convOutput, error) {
			c, err := s.ConversationGet(ctx, team.FromContext(ctx), userID(ctx), in.ID)
			return &convOutput{Body: c}, toHTTP(err)
		})
	delConv := conv(op("delete-kb-conversation", http.MethodDelete, "/api/v1/knowledge/conversations/{id}", "Delete one of your conversations"))
	delConv.DefaultStatus = http.StatusNoContent
	httpapi.Register(r, delConv, rbac.KBRead, func(ctx context.Context, in *docIDInput) (*struct{}, error) {
		return nil, toHTTP(s.ConversationDelete(ctx, team.FromContext(ctx), userID(ctx), in.ID))
	})
	httpapi.Register(r, op("get-kb-settings", http.MethodGet, "/api/v1/knowledge/settings", "The team's chat and embedding providers (keys are never returned)"),
		rbac.KBRead, func(ctx context.Context, _ *struct{}) (*settingsOutput, error) {
			st, err := s.SettingsGet(ctx, team.FromContext(ctx))
			return &settingsOutput{Body: st}, err
		})
	httpapi.Register(r, op("set-kb-settings", http.MethodPut, "/api/v1/knowledge/settings",
		"Set the team's providers (ADMIN); keys are sealed, and a new embedding model re-embeds in the background"),
		rbac.TeamManage, func(ctx context.Context, in *settingsInput) (*settingsOutput, error) {
			st, err := s.SettingsSet(ctx, team.FromContext(ctx), in.Body, actor(ctx))
			return &settingsOutput{Body: st}, toHTTP(err)
		})
}

// askError maps a provider's failure to 502 without its text, which may
// carry what the provider echoed of the request.
func (s *Service) askError(err error) error {
	if e := toHTTP(err); e != err { //nolint:errorlint // identity: toHTTP returns err itself when it maps nothing
		return e
	}
	s.logger.Warn("knowledge base: the chat provider failed", "err", err)
	return huma.NewError(http.StatusBadGateway, "the chat provider failed: "+providerReason(err))
}

// providerReason keeps the HTTP status of a provider error, if any.
func providerReason(err error) string {
	msg := err.Error()
	for _, code := range []string{"401", "403", "404", "429", "500", "502", "503", "529"} {
		if strings.Contains(msg, " "+code+" ") || strings.Contains(msg, "status "+code) || strings.Contains(msg, "\""+code) {
			return "HTTP " + code
		}
	}
	return "no answer"
}

// serveUpload reads every "file" part whole (each up to the limit) and
// checks them all before keeping any.
func (s *Service) serveUpload(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, `send the documents as multipart/form-data with "file" parts`)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 20*(s.maxBytes+64<<10))
	mr, err := r.MultipartReader()
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "malformed multipart body: "+err.Error())
		return
	}
	type file struct {
		name string
		body []byte
		// inZip: a file of an uploaded archive, named by its path in it.
		inZip bool
	}
	var (
		files   []file
		tags    []string
		skipped = []Skipped{}
		parts   int
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.uploadProblem(w, r, err)
			return
		}
		switch part.FormName() {
		case "file":
			if parts == 20 {
				httpapi.WriteProblem(w, r, http.StatusBadRequest, "at most 20 files in one upload")
				return
			}
			parts++
			body, err := io.ReadAll(io.LimitReader(part, s.maxBytes+1))
			if err != nil {
				s.uploadProblem(w, r, err)
				return
			}
			if int64(len(body)) > s.maxBytes {
				s.uploadProblem(w, r, fmt.Errorf("%w: %s is larger than the %d-byte limit (kb_max_bytes)", ErrTooLarge, part.FileName(), s.maxBytes))
				return
			}
			if IsZip(part.FileName(), body) {
				inside, skip, err := ExpandZip(body, s.maxBytes)
				if err != nil {
					s.uploadProblem(w, r, fmt.Errorf("%s: %w", part.FileName(), err))
					return
				}
				ok, unsupported := PrepareBundle(inside, s.maxBytes)
				skipped = append(append(skipped, skip...), unsupported...)
				for _, f := range ok {
					files = append(files, file{f.Path, f.Body, true})
				}
				break
			}
			files = append(files, file{part.FileName(), body, false})
		case "tags":
			b, _ := io.ReadAll(io.LimitReader(part, 4096))
			tags = append(tags, strings.Split(string(b), ",")...)
		}
		_ = part.Close()
	}
	if parts == 0 {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, `no "file" part in the form`)
		return
	}
	if _, err := CleanTags(tags); err != nil {
		s.uploadProblem(w, r, err)
		return
	}
	// Check every file before keeping any (an archive's were checked as
	// it was expanded: those that do not pass are skipped, not refused).
	for _, f := range files {
		if f.inZip {
			continue
		}
		if err := CheckFile(f.name, f.body, s.maxBytes); err != nil {
			s.uploadProblem(w, r, err)
			return
		}
	}
	results := []UploadResult{}
	for _, f := range files {
		up := UploadParams{Name: f.name, Body: bytes.NewReader(f.body), Actor: p.AuditActor(), KeepPath: f.inZip}
		if f.inZip {
			up.Tags = BundleTags(tags, f.name)
		} else if len(tags) > 0 {
			up.Tags = tags
		}
		res, err := s.DocumentUpload(r.Context(), p.TeamID(), up)
		if err != nil {
			s.uploadProblem(w, r, err)
			return
		}
		results = append(results, res)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"results": results, "skipped": skipped})
}

// CheckFile is DocumentUpload's check without the write: name, size,
// type and extractable text.
func CheckFile(name string, body []byte, maxBytes int64) error {
	name = cleanName(name)
	if int64(len(body)) > maxBytes {
		return fmt.Errorf("%w: %s is larger than the %d-byte limit (kb_max_bytes)", ErrTooLarge, name, maxBytes)
	}
	if name == "" {
		return fmt.Errorf("%w: every file needs a name", ErrInvalid)
	}
	if len(body) == 0 {
		return fmt.Errorf("%w: %s is empty", ErrUnsupported, name)
	}
	ct, err := DetectType(name, body)
	if err != nil {
		return err
	}
	if _, err := Extract(ct, body); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (s *Service) uploadProblem(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, ErrTooLarge), errors.As(err, &tooBig):
		httpapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("a file is larger than the %d-byte limit (kb_max_bytes): %v", s.maxBytes, err))
	case errors.Is(err, ErrUnsupported):
		httpapi.WriteProblem(w, r, http.StatusUnsupportedMediaType, err.Error())
	case errors.Is(err, ErrInvalid):
		httpapi.WriteProblem(w, r, http.StatusUnprocessableEntity, err.Error())
	case strings.Contains(err.Error(), "multipart"):
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "malformed multipart body: "+err.Error())
	default:
		s.logger.Error("knowledge base upload failed", "err", err)
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, "the upload failed")
	}
}

// serveAskStream answers as server-sent events.
func (s *Service) serveAskStream(w http.ResponseWriter, r *http.Request) {
	var req AskRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "send a JSON body with a question")
		return
	}
	if q := strings.TrimSpace(req.Question); q == "" || len(q) > 2000 || len(req.DocumentIDs) > 100 || len(req.Tags) > 20 {
		httpapi.WriteProblem(w, r, http.StatusUnprocessableEntity, "the question must have 1 to 2000 characters")
		return
	}
	teamID, uid := team.FromContext(r.Context()), userID(r.Context())
	if req.ConversationID != "" {
		if _, err := s.ConversationGet(r.Context(), teamID, uid, req.ConversationID); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				httpapi.WriteProblem(w, r, http.StatusNotFound, "not found")
			} else {
				s.logger.Error("knowledge base: loading the conversation failed", "err", err)
				httpapi.WriteProblem(w, r, http.StatusInternalServerError, "the question could not be asked")
			}
			return
		}
	}
	if err := s.checkBudget(r.Context(), teamID); err != nil {
		if errors.Is(err, ErrBudgetSpent) {
			httpapi.WriteProblem(w, r, http.StatusTooManyRequests, err.Error())
		} else {
			s.logger.Error("knowledge base: checking the token budget failed", "err", err)
			httpapi.WriteProblem(w, r, http.StatusInternalServerError, "the question could not be asked")
		}
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	event := func(name string, v any) {
		b, _ := json.Marshal(v)
		_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		if fl != nil {
			fl.Flush()
		}
	}
	ans, err := s.Ask(r.Context(), teamID, AskParams{Question: req.Question, DocumentIDs: req.DocumentIDs,
		Tags: req.Tags, UserID: uid, ConversationID: req.ConversationID, OnDelta: func(d string) { event("delta", map[string]string{"text": d}) }})
	if err != nil {
		detail := err.Error()
		var se huma.StatusError
		if errors.As(s.askError(err), &se) {
			detail = se.Error()
		}
		event("error", map[string]string{"detail": detail})
		return
	}
	event("answer", ans)
}
