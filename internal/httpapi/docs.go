package httpapi

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// The API reference is rendered on the server from the OpenAPI document, with
// inline styles and no scripts, so it works offline and under the strict CSP.
//
//go:embed docs.html.tmpl
var docsTemplate string

var docsTmpl = template.Must(template.New("docs").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"json": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err.Error()
		}
		return string(b)
	},
}).Parse(docsTemplate))

type docOperation struct {
	Method, Path string
	Op           *huma.Operation
	Permission   any
}

type docTag struct {
	Name       string
	Operations []docOperation
}

type docPage struct {
	Title, Version, Description string
	Tags                        []docTag
	Schemas                     []docSchema
}

type docSchema struct {
	Name   string
	Schema *huma.Schema
}

func (r *Router) serveDocs(w http.ResponseWriter, req *http.Request) {
	// The document is fixed once the server starts, so render it once.
	r.docsOnce.Do(func() { r.docsHTML, r.docsErr = r.renderDocs() })
	if r.docsErr != nil {
		WriteProblem(w, req, http.StatusInternalServerError, "rendering the API reference failed")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(r.docsHTML)
}

func (r *Router) renderDocs() ([]byte, error) {
	oapi := r.OpenAPI()
	page := docPage{Title: oapi.Info.Title, Version: oapi.Info.Version, Description: oapi.Info.Description}
	byTag := map[string][]docOperation{}
	for path, item := range oapi.Paths {
		for method, op := range map[string]*huma.Operation{
			"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete,
		} {
			if op == nil {
				continue
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], docOperation{Method: method, Path: path, Op: op, Permission: op.Extensions[PermissionExtension]})
		}
	}
	for name, ops := range byTag {
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return ops[i].Method < ops[j].Method
		})
		page.Tags = append(page.Tags, docTag{Name: name, Operations: ops})
	}
	sort.Slice(page.Tags, func(i, j int) bool { return page.Tags[i].Name < page.Tags[j].Name })
	for name, s := range oapi.Components.Schemas.Map() {
		page.Schemas = append(page.Schemas, docSchema{Name: name, Schema: s})
	}
	sort.Slice(page.Schemas, func(i, j int) bool { return page.Schemas[i].Name < page.Schemas[j].Name })
	var b strings.Builder
	if err := docsTmpl.Execute(&b, page); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
