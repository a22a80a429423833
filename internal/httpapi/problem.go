package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/db"
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

// errorLogger is where internal errors go: the logger of the last router
// built (one per process outside tests).
var errorLogger atomic.Pointer[slog.Logger]

// init keeps a server-side error out of the answer: huma would put the
// error's text (a database's message, say) in the problem's details. The
// client gets the request ID; the log gets the error.
func init() {
	wrapped := huma.NewErrorWithContext
	huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		if status < http.StatusInternalServerError {
			return wrapped(ctx, status, msg, errs...)
		}
		for _, err := range errs {
			if db.IsInvalidText(err) {
				return wrapped(ctx, http.StatusBadRequest, "text in the request may not contain a NUL character (U+0000)")
			}
		}
		id := ""
		if ctx != nil {
			id = RequestID(ctx.Context())
		}
		logger := errorLogger.Load()
		if logger == nil {
			logger = slog.Default()
		}
		logger.Error("request failed", "status", status, "request_id", id, "err", errors.Join(errs...), "message", msg)
		return wrapped(ctx, status, "internal error; request ID "+id)
	}
}
