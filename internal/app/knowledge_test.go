package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/config"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// fakeOpenAI speaks OpenAI's chat completions (streamed and not) and
// embeddings: a bag-of-letters vector, deterministic.
type fakeOpenAI struct {
	mu       sync.Mutex
	prompts  []string
	keys     []string
	embedded int
}

func (f *fakeOpenAI) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.keys = append(f.keys, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/embeddings":
			var data []string
			for i, in := range body["input"].([]any) {
				v := make([]string, 26)
				for j := range v {
					v[j] = "0"
				}
				for _, c := range strings.ToLower(in.(string)) {
					if c >= 'a' && c <= 'z' {
						v[c-'a'] = "1"
					}
				}
				data = append(data, fmt.Sprintf(`{"object":"embedding","index":%d,"embedding":[%s]}`, i, strings.Join(v, ",")))
			}
			f.mu.Lock()
			f.embedded += len(data)
			f.mu.Unlock()
			_, _ = fmt.Fprintf(w, `{"object":"list","data":[%s],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}`, strings.Join(data, ","))
		case "/v1/chat/completions":
			msgs := body["messages"].([]any)
			f.mu.Lock()
			f.prompts = append(f.prompts, msgs[len(msgs)-1].(map[string]any)["content"].(string))
			f.mu.Unlock()
			if body["stream"] == true {
				w.Header().Set("Content-Type", "text/event-stream")
				for _, part := range []string{"Contractors need ", "hardware keys [1]."} {
					_, _ = fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", part)
				}
				_, _ = io.WriteString(w, "data: [DONE]\n\n")
				return
			}
			_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Contractors need hardware keys [1]."},"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":8,"total_tokens":58}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const kbPolicy = "# Access Control Policy\n\n## 4.2 Remote access\n\nContractors must use hardware security keys for MFA.\n\n" +
	"## 4.3 Reviews\n\nAccess rights are reviewed every quarter.\n"

func waitReady(t *testing.T, c *client, docID string, embedded bool) knowledge.Document {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a bound on a hang, not a measurement
	for {
		_, body := c.do("GET", "/api/v1/knowledge/documents/"+docID, nil)
		d := decode[knowledge.Document](t, body)
		if d.Status == knowledge.StatusFailed {
			t.Fatalf("document failed: %s", d.Error)
		}
		if d.Status == knowledge.StatusReady && (!embedded || d.Embedded == d.Chunks) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("document never ready: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKnowledgeBaseOverHTTP(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		fake := &fakeOpenAI{}
		srv := fake.server(t)
		e := newEnvWithWorkers(t, reg, func(c *config.Config) { c.KBMaxBytes = 4096 })
		teamA := e.team("a")
		admin := e.login(e.user(teamA.ID, rbac.Admin).Email)
		manager := e.login(e.user(teamA.ID, rbac.SecurityManager).Email)
		viewer := e.login(e.user(teamA.ID, rbac.Viewer).Email)

		// Bad uploads: a clear error each, and nothing kept.
		for _, c := range []struct {
			name   string
			data   []byte
			status int
		}{
			{"big.md", bytes.Repeat([]byte("a"), 5000), 413},
			{"scan.pdf", []byte("%PDF-1.7 broken"), 415},
			{"photo.png", []byte("\x89PNG\r\n\x1a\n\x00"), 415},
		} {
			if status, body := manager.upload("/api/v1/knowledge/documents", c.name, c.data); status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, status, body, c.status)
			}
		}
		if status, _ := viewer.upload("/api/v1/knowledge/documents", "p.md", []byte(kbPolicy)); status != 403 {
			t.Fatalf("viewer upload: %d", status)
		}

		// Full text alone, with no provider configured.
		status, body := manager.postForm("/api/v1/knowledge/documents", map[string]string{"tags": "access, iso"}, "access.md", []byte(kbPolicy))
		if status != 201 {
			t.Fatalf("upload: %d %s", status, body)
		}
		up := decode[struct {
			Results []knowledge.UploadResult `json:"results"`
		}](t, body).Results[0]
		doc := waitReady(t, viewer, up.Document.ID, false)
		if doc.Chunks != 2 || strings.Join(doc.Tags, ",") != "access,iso" {
			t.Fatalf("document %+v", doc)
		}
		_, body = viewer.do("GET", "/api/v1/knowledge/search?q=contractors+MFA", nil)
		res := decode[struct {
			Passages []knowledge.Passage `json:"passages"`
			Mode     string              `json:"mode"`
		}](t, body)
		if res.Mode != "full_text" || len(res.Passages) == 0 || res.Passages[0].SectionPath != "Access Control Policy > 4.2 Remote access" {
			t.Fatalf("search %s", body)
		}
		_, body = viewer.do("POST", "/api/v1/knowledge/ask", map[string]any{"question": "What MFA do contractors need?"})
		if ans := decode[knowledge.Answer](t, body); !ans.Found || ans.Provider != "" || len(ans.Citations) == 0 {
			t.Fatalf("no-provider answer %s", body)
		}

		// Providers: ADMIN only; the key is sealed and never returned.
		settings := map[string]any{"chat_provider": "openai_compatible", "chat_model": "m", "chat_base_url": srv.URL + "/v1",
			"chat_key": "sk-chat-secret", "embed_provider": "openai_compatible", "embed_model": "letters", "embed_base_url": srv.URL + "/v1"}
		if status, _ := manager.do("PUT", "/api/v1/knowledge/settings", settings); status != 403 {
			t.Fatalf("manager sets providers: %d", status)
		}
		status, body = admin.do("PUT", "/api/v1/knowledge/settings", settings)
		if status != 200 || strings.Contains(string(body), "sk-chat-secret") || !strings.Contains(string(body), `"chat_key_set":true`) {
			t.Fatalf("settings: %d %s", status, body)
		}
		// The model change re-embeds in the background.
		doc = waitReady(t, viewer, doc.ID, true)
		_, body = viewer.do("GET", "/api/v1/knowledge/search?q=contractors+MFA", nil)
		if !strings.Contains(string(body), `"mode":"hybrid"`) {
			t.Fatalf("search after embedding: %s", body)
		}
		_, body = viewer.do("POST", "/api/v1/knowledge/ask", map[string]any{"question": "What MFA do contractors need?"})
		ans := decode[knowledge.Answer](t, body)
		if !ans.Found || len(ans.Citations) != 1 || ans.Citations[0].DocumentName != "access.md" || ans.Usage.OutputTokens != 8 {
			t.Fatalf("answer %s", body)
		}
		// Tokens and latency per provider, as Prometheus metrics.
		_, metrics := viewer.do("GET", "/metrics", nil)
		if !strings.Contains(string(metrics), `cspm_llm_tokens_total{direction="output",model="m",provider="openai_compatible"} 8`) ||
			!strings.Contains(string(metrics), `cspm_llm_requests_total{kind="embedding",model="letters",outcome="ok",provider="openai_compatible"}`) {
			t.Errorf("metrics lack the provider's tokens or requests")
		}
		if fake.keys[len(fake.keys)-1] != "Bearer sk-chat-secret" {
			t.Fatalf("the provider got key %q", fake.keys[len(fake.keys)-1])
		}
		// Streamed: deltas, then the answer with its citations.
		status, body, hdr := viewer.doH("POST", "/api/v1/knowledge/ask/stream", map[string]any{"question": "What MFA do contractors need?"}, nil)
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") ||
			!strings.Contains(string(body), "event: delta\ndata: {\"text\":\"Contractors need \"}") ||
			!strings.Contains(string(body), "event: answer\ndata: {\"answer\":\"Contractors need hardware keys [1].\"") {
			t.Fatalf("stream %d %s", status, body)
		}

		// Delete, audited with the upload and the settings change.
		if status, _ := manager.do("DELETE", "/api/v1/knowledge/documents/"+doc.ID, nil); status != 204 {
			t.Fatalf("delete: %d", status)
		}
		if status, _ := viewer.do("GET", "/api/v1/knowledge/documents/"+doc.ID, nil); status != 404 {
			t.Fatalf("deleted document: %d", status)
		}
		events, err := e.app.Audit.EventList(context.Background(), audit.ListParams{TeamID: teamA.ID, Limit: 500, Action: "kb."})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range events {
			seen[ev.Action] = true
			if b, _ := json.Marshal(ev.Details); strings.Contains(string(b), "sk-chat-secret") {
				t.Fatal("the audit log holds a provider key")
			}
		}
		for _, a := range []string{"kb.document_uploaded", "kb.document_deleted", "kb.settings_changed"} {
			if !seen[a] {
				t.Errorf("no %s event", a)
			}
		}
	})
}
