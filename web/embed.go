// Package web serves the single-page app built by Vite into web/dist, embedded
// in the binary. A binary built before the front end (a plain `go build`)
// still serves a page that says how to build it.
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether the embedded front end was built.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler serves the app: files under dist as they are, and index.html for
// every other path, so that client-side routes such as /status survive a reload.
func Handler() http.Handler {
	sub, _ := fs.Sub(dist, "dist")
	if !Built() {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(notBuiltPage))
		})
	}
	index, _ := fs.ReadFile(sub, "index.html")
	files := http.FileServerFS(sub)
	var modTime time.Time // embedded files have none; a zero time disables If-Modified-Since
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(sub, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					// Vite puts a content hash in every asset name.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(name, "assets/") || staticFile[path.Ext(name)] {
				http.NotFound(w, r) // a missing file is a 404, not the app
				return
			}
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", modTime, bytes.NewReader(index))
	})
}

// staticFile lists the endings of files a browser asks for by name. Any
// other path is a client-side route, dots and all: a control's URN
// (/compliance/controls/scf-2025.2.2:gov-01.1) must reload as the app.
var staticFile = map[string]bool{
	".js": true, ".mjs": true, ".css": true, ".map": true, ".html": true, ".json": true, ".txt": true, ".xml": true,
	".ico": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".webp": true,
	".woff": true, ".woff2": true, ".ttf": true, ".webmanifest": true,
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OffloadSecurity CSPM</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5}code{background:#f1f3f5;padding:.1rem .3rem}</style>
</head><body>
<h1>OffloadSecurity CSPM</h1>
<p>The API is running, but this binary was built without the web UI.</p>
<p>Build it with <code>make ui</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>) and rebuild <code>cspm</code>,
or start everything with <code>make run</code>.</p>
<p>The API reference is at <a href="/api/docs">/api/docs</a>; health at <a href="/healthz">/healthz</a>.</p>
</body></html>`
