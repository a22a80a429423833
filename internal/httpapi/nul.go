package httpapi

import (
	"net/http"
	"strings"
)

// rejectNUL answers 400 for a NUL character (U+0000) in the path or the
// query string. PostgreSQL's text cannot hold one, so such a value reached
// the database and came back as a 500. A NUL in a JSON body is refused the
// same way where the database refuses it (db.IsInvalidText): reading
// bodies here, ahead of the operation, made net/http cancel handlers that
// waited seconds under load.
func rejectNUL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.ContainsRune(r.URL.Path, 0) || strings.Contains(strings.ToLower(r.URL.RawQuery), "%00") || strings.ContainsRune(r.URL.RawQuery, 0) {
			WriteProblem(w, r, http.StatusBadRequest, "the request may not contain a NUL character (U+0000)")
			return
		}
		next.ServeHTTP(w, r)
	})
}
