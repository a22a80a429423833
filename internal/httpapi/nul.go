package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxInspectedBody bounds the JSON bodies rejectNUL reads whole; larger
// ones pass through to the operation's own size limit (huma's is 1 MiB).
const maxInspectedBody = 4 << 20

// rejectNUL answers 400 for a NUL character (U+0000) in the query string or
// in any string of a JSON body. PostgreSQL's text cannot hold one, so such a
// value reached the database and came back as a 500 that quoted the
// database's error; SQLite would have stored it. Reports (multipart
// uploads) are not inspected here: the importer replaces NUL in findings'
// text and keeps the raw report whole.
func rejectNUL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.ContainsRune(r.URL.Path, 0) || strings.Contains(strings.ToLower(r.URL.RawQuery), "%00") || strings.ContainsRune(r.URL.RawQuery, 0) {
			WriteProblem(w, r, http.StatusBadRequest, "the request may not contain a NUL character (U+0000)")
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Body == nil || r.Body == http.NoBody || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			next.ServeHTTP(w, r)
			return
		}
		// Read exactly the declared length, never to EOF: the server takes
		// a body read to its end as the request's end, and begins to watch
		// the connection, which then cancelled handlers that took seconds
		// (a sign-in queued for the password hasher). A body of unknown or
		// large length passes through to the operation's own limits.
		if r.ContentLength <= 0 || r.ContentLength > maxInspectedBody {
			next.ServeHTTP(w, r)
			return
		}
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			WriteProblem(w, r, http.StatusBadRequest, "could not read the request body")
			return
		}
		rest := r.Body
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), rest), rest}
		if jsonHasNUL(body) {
			WriteProblem(w, r, http.StatusBadRequest, "text in the request may not contain a NUL character (U+0000)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// jsonHasNUL reports whether any string (key or value) of a JSON document
// holds U+0000. A malformed document is left to the operation to refuse.
func jsonHasNUL(body []byte) bool {
	if !bytes.Contains(body, []byte{0}) && !bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
		return false // the common case, without decoding
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			// A raw NUL byte outside a string is malformed JSON; inside one
			// the decoder refuses it as a control character.
			return !errors.Is(err, io.EOF) && bytes.Contains(body, []byte{0})
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}
