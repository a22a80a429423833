package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Result().Header
}

// Whether or not the UI was built, the handler answers something useful.
func TestHandler(t *testing.T) {
	if !Built() {
		code, body, _ := serve(t, "/status")
		if code != 200 || !strings.Contains(body, "make ui") {
			t.Fatalf("unbuilt UI page = %d %q", code, body)
		}
		return
	}
	code, index, h := serve(t, "/")
	if code != 200 || !strings.Contains(index, `<div id="root">`) {
		t.Fatalf("/ = %d", code)
	}
	if h.Get("Cache-Control") != "no-cache" {
		t.Errorf("index Cache-Control %q", h.Get("Cache-Control"))
	}
	// Client-side routes get the app, so deep links and reloads work.
	for _, p := range []string{"/status", "/findings/123", "/login", "/compliance/controls/urn:scf:req_node:scf-2025.2.2:gov-01.1"} {
		if code, body, _ := serve(t, p); code != 200 || body != index {
			t.Errorf("%s = %d, want the index page", p, code)
		}
	}
	// Missing files are 404s, not the app.
	for _, p := range []string{"/assets/missing.js", "/favicon.ico", "/robots.txt"} {
		if code, _, _ := serve(t, p); code != 404 {
			t.Errorf("%s = %d, want 404", p, code)
		}
	}
	// Hashed assets are cached for good.
	start := strings.Index(index, "/assets/")
	if start < 0 {
		t.Fatal("index references no asset")
	}
	asset := index[start : start+strings.IndexAny(index[start:], `"'`)]
	code, _, h = serve(t, asset)
	if code != 200 || !strings.Contains(h.Get("Cache-Control"), "immutable") {
		t.Errorf("%s = %d, Cache-Control %q", asset, code, h.Get("Cache-Control"))
	}
}
