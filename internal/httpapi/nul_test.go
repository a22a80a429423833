package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/offloadsecurity/cspm/internal/rbac"
)

type echoInput struct {
	Q    string `query:"q"`
	Body struct {
		Name string `json:"name"`
	}
}

type echoOutput struct{ Body struct{ Name string } }

// A NUL character is refused with 400 before it reaches a database, in the
// query string and in any string of a JSON body; and a 500 says "internal
// error" with the request ID, never the error's own text.
func TestNULRefusedAndInternalErrorsNotEchoed(t *testing.T) {
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)), NewMetrics())
	Register(r, huma.Operation{OperationID: "echo", Method: http.MethodPost, Path: "/api/v1/echo"}, rbac.Public,
		func(_ context.Context, in *echoInput) (*echoOutput, error) {
			switch in.Body.Name {
			case "fail":
				return nil, errors.New(`ERROR: relation "secret_table" does not exist (SQLSTATE 42P01)`)
			case "nul":
				// What PostgreSQL answers for text holding U+0000.
				return nil, &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}
			}
			out := &echoOutput{}
			out.Body.Name = in.Body.Name
			return out, nil
		})
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	post := func(query, body string) (int, string) {
		res, err := http.Post(srv.URL+"/api/v1/echo"+query, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, query, body string
		want              int
	}{
		{"plain", "", `{"name":"alice"}`, 200},
		{"NUL in the query", "?q=a%00b", `{"name":"alice"}`, 400},
		{"NUL the database refuses", "", `{"name":"nul"}`, 400},
	} {
		if status, body := post(tc.query, tc.body); status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.want)
		}
	}
	status, body := post("", `{"name":"fail"}`)
	if status != 500 || strings.Contains(body, "SQLSTATE") || strings.Contains(body, "secret_table") || !strings.Contains(body, "request ID") {
		t.Fatalf("500 answered %q", body)
	}
}
