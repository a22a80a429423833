package httpapi

import (
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/offloadsecurity/cspm/internal/rbac"
)

// How the API authenticates, as the OpenAPI document declares it.
const (
	// SessionCookie is the session cookie's name.
	SessionCookie = "cspm_session"
	// CSRFHeader carries the CSRF token on cookie-authenticated writes.
	CSRFHeader = "X-CSRF-Token"

	SchemeBearer  = "bearerToken"
	SchemeSession = "sessionCookie"
	SchemeCSRF    = "csrfHeader"
)

// describeAuth declares on an operation how to call it: nothing for a
// public one; else a bearer API token, or the session cookie (with the
// CSRF header on a write). It also declares the 4xx answers every
// authenticated operation can give, so that a generated client knows them.
func describeAuth(op *huma.Operation, perm rbac.Permission) {
	if perm == rbac.Public {
		op.Security = []map[string][]string{} // explicitly none
	} else {
		cookie := map[string][]string{SchemeSession: {}}
		if op.Method != http.MethodGet && op.Method != http.MethodHead {
			cookie[SchemeCSRF] = []string{}
		}
		op.Security = []map[string][]string{{SchemeBearer: {}}, cookie}
	}
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	add := func(code int, why string) {
		if _, ok := op.Responses[strconv.Itoa(code)]; !ok {
			op.Responses[strconv.Itoa(code)] = ProblemResponse(why)
		}
	}
	if perm != rbac.Public {
		add(http.StatusUnauthorized, "Not signed in, or the token or session is no longer valid.")
		add(http.StatusForbidden, "The caller's role lacks the operation's permission ("+PermissionExtension+"), or a cookie write lacks the CSRF header.")
	}
	if op.Method != http.MethodGet && op.Method != http.MethodHead {
		add(http.StatusBadRequest, "The request is malformed.")
	}
}
