// Package httpapi holds the cross-cutting HTTP concerns: the router, its
// middleware, the one error shape, metrics and the OpenAPI document. Services
// register their own operations on it with Register.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/offloadsecurity/cspm/internal/rbac"
	"github.com/offloadsecurity/cspm/internal/version"
)

func init() {
	// Lists in answers are never null: handlers return empty slices, and the
	// generated TypeScript types then need no null checks.
	huma.DefaultArrayNullable = false
}

// PermissionExtension is the OpenAPI extension that carries each operation's permission.
const PermissionExtension = "x-permission"

// OpenAPIPath is where the OpenAPI 3.1 document is served (with ".json" or ".yaml").
const OpenAPIPath = "/api/v1/openapi"

// Route is one registered route and the permission it declared.
type Route struct {
	Method     string          `json:"method"`
	Pattern    string          `json:"pattern"`
	Permission rbac.Permission `json:"permission"`
}

// Authorizer decides whether the request may use a route that needs perm.
// It answers 0 to allow, or an HTTP status and a message to refuse.
type Authorizer func(r *http.Request, perm rbac.Permission) (status int, detail string)

// Router is the application's HTTP router.
type Router struct {
	mux       *http.ServeMux
	api       huma.API
	routes    []Route
	logger    *slog.Logger
	metrics   *Metrics
	authorize Authorizer
	inner     []func(http.Handler) http.Handler

	// The API reference page, rendered at its first request.
	docsOnce sync.Once
	docsHTML []byte
	docsErr  error
}

// SetAuthorizer installs the check every non-public route passes. Until one
// is installed, only public routes answer; the others refuse with 503, so a
// wiring mistake fails closed.
func (r *Router) SetAuthorizer(a Authorizer) { r.authorize = a }

// Use adds middleware that runs after the router's own (request ID, headers,
// logging) and before routing, such as authentication.
func (r *Router) Use(mw func(http.Handler) http.Handler) { r.inner = append(r.inner, mw) }

func (r *Router) check(req *http.Request, perm rbac.Permission) (int, string) {
	if perm == rbac.Public {
		return 0, ""
	}
	if r.authorize == nil {
		return http.StatusServiceUnavailable, "authorization is not configured"
	}
	return r.authorize(req, perm)
}

// New returns a router with the OpenAPI document and API 404s wired.
func New(logger *slog.Logger, metrics *Metrics) *Router {
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("OffloadSecurity CSPM API", version.Get().Version)
	cfg.Info.Description = "Cloud security posture management: scans, findings, vulnerabilities, compliance, " +
		"business impact and the policy knowledge base. Every operation names the permission it needs in " + PermissionExtension + "."
	cfg.OpenAPIPath = OpenAPIPath
	cfg.DocsPath = ""    // huma's page loads scripts from a CDN; /api/docs is self-contained instead
	cfg.SchemasPath = "" // no per-schema endpoints: the document has them all
	cfg.CreateHooks = nil
	cfg.Info.License = &huma.License{Name: "Apache-2.0", Identifier: "Apache-2.0"}
	cfg.Info.Contact = &huma.Contact{Name: "OffloadSecurity CSPM maintainers", URL: "https://github.com/offloadsecurity/cspm/issues"}
	cfg.Servers = []*huma.Server{{URL: "{scheme}://{host}", Description: "the platform: `make run` listens on http://127.0.0.1:8080",
		Variables: map[string]*huma.ServerVariable{
			"scheme": {Default: "http", Enum: []string{"http", "https"}},
			"host":   {Default: "127.0.0.1:8080", Description: "the host (and port) the platform is served on"},
		}}}
	if cfg.Components.SecuritySchemes == nil {
		cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	cfg.Components.SecuritySchemes[SchemeBearer] = &huma.SecurityScheme{Type: "http", Scheme: "bearer",
		Description: "An API token (`Authorization: Bearer <secret>`), created with POST /api/v1/auth/tokens; its user's role and team apply."}
	cfg.Components.SecuritySchemes[SchemeSession] = &huma.SecurityScheme{Type: "apiKey", In: "cookie", Name: SessionCookie,
		Description: "The session cookie POST /api/v1/auth/login sets, as the web UI uses it."}
	cfg.Components.SecuritySchemes[SchemeCSRF] = &huma.SecurityScheme{Type: "apiKey", In: "header", Name: CSRFHeader,
		Description: "The CSRF token the login answer gives: required with the session cookie on every write."}
	r := &Router{mux: mux, api: humago.New(mux, cfg), logger: logger, metrics: metrics}
	errorLogger.Store(logger)
	r.api.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		perm, _ := ctx.Operation().Metadata["permission"].(rbac.Permission)
		req, _ := humago.Unwrap(ctx)
		if status, detail := r.check(req, perm); status != 0 {
			_ = huma.WriteErr(r.api, ctx, status, detail)
			return
		}
		next(ctx)
	})
	r.declare(http.MethodGet, OpenAPIPath+".json", rbac.Public)
	r.declare(http.MethodGet, OpenAPIPath+".yaml", rbac.Public)
	r.Handle(http.MethodGet, "/api/docs", rbac.Public, http.HandlerFunc(r.serveDocs))
	// Anything else under /api/ is an API 404 in the API's error shape, never
	// the web UI's index page.
	r.mux.HandleFunc("/api/", func(w http.ResponseWriter, req *http.Request) {
		WriteProblem(w, req, http.StatusNotFound, "no API route "+req.Method+" "+req.URL.Path)
	})
	return r
}

// API returns the huma API, for services that need more than Register.
func (r *Router) API() huma.API { return r.api }

// OpenAPI returns the OpenAPI document.
func (r *Router) OpenAPI() *huma.OpenAPI { return r.api.OpenAPI() }

// Routes lists every route with its permission, sorted.
func (r *Router) Routes() []Route {
	out := append([]Route(nil), r.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pattern != out[j].Pattern {
			return out[i].Pattern < out[j].Pattern
		}
		return out[i].Method < out[j].Method
	})
	return out
}

func (r *Router) declare(method, pattern string, perm rbac.Permission) {
	if perm == "" {
		panic(fmt.Sprintf("httpapi: route %s %s declares no permission", method, pattern))
	}
	r.routes = append(r.routes, Route{Method: method, Pattern: pattern, Permission: perm})
}

// Handle registers a plain handler (one that is not a typed API operation)
// for method and pattern, with the permission it needs.
func (r *Router) Handle(method, pattern string, perm rbac.Permission, h http.Handler) {
	r.declare(method, pattern, perm)
	if perm != rbac.Public {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if status, detail := r.check(req, perm); status != 0 {
				WriteProblem(w, req, status, detail)
				return
			}
			inner.ServeHTTP(w, req)
		})
	}
	if method == "" {
		r.mux.Handle(pattern, h)
		return
	}
	r.mux.Handle(method+" "+pattern, h)
}

// HandleDocumented is Handle for a hand-written handler, such as a streamed
// upload or download, that the OpenAPI document describes all the same: op
// gives its method, path, parameters, request body and responses, so that
// a generated client can call it.
func (r *Router) HandleDocumented(op huma.Operation, perm rbac.Permission, h http.Handler) {
	r.Handle(op.Method, op.Path, perm, h)
	op.Extensions = maps.Clone(op.Extensions)
	if op.Extensions == nil {
		op.Extensions = map[string]any{}
	}
	op.Extensions[PermissionExtension] = string(perm)
	describeAuth(&op, perm)
	r.api.OpenAPI().AddOperation(&op)
}

// QueryParam documents a string query parameter of a hand-written handler.
func QueryParam(name, description string) *huma.Param {
	return &huma.Param{Name: name, In: "query", Description: description, Schema: &huma.Schema{Type: "string"}}
}

// ProblemResponse documents an error answer of a hand-written handler.
func ProblemResponse(description string) *huma.Response {
	return &huma.Response{Description: description, Content: map[string]*huma.MediaType{
		"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}}
}

// Register adds a typed API operation. The permission is mandatory and is
// published in the OpenAPI document under PermissionExtension.
func Register[I, O any](r *Router, op huma.Operation, perm rbac.Permission, handler func(context.Context, *I) (*O, error)) {
	r.declare(op.Method, op.Path, perm)
	if op.Extensions == nil {
		op.Extensions = map[string]any{}
	}
	op.Extensions = maps.Clone(op.Extensions)
	op.Extensions[PermissionExtension] = string(perm)
	// A copy: callers share one metadata map among several operations, and
	// each operation's permission is its own.
	op.Metadata = maps.Clone(op.Metadata)
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata["permission"] = perm
	describeAuth(&op, perm)
	huma.Register(r.api, op, handler)
}

// Handler returns the router wrapped in the middleware every request passes.
func (r *Router) Handler() http.Handler {
	h := recordPattern(r.mux)
	for i := len(r.inner) - 1; i >= 0; i-- {
		h = r.inner[i](h)
	}
	h = rejectNUL(h)
	h = r.observe(h)
	h = securityHeaders(h)
	h = requestID(h)
	h = r.recoverPanics(h)
	return h
}

// quietPaths are polled by machines; logging each would drown the log.
func quietPath(p string) bool {
	return p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/assets/")
}
