package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// WriteProblem writes an RFC 9457 problem details reply, the one error shape
// of the whole API (huma writes the same shape for the typed operations).
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	p := huma.ErrorModel{
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}
