package llm

import (
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
)

// fake is a local server speaking one provider's wire format. It records
// every request and, while rateLimit > 0, answers 429 first.
type fake struct {
	mu        sync.Mutex
	rateLimit int
	paths     []string
	bodies    []map[string]any
	headers   []http.Header
}

func (f *fake) serve(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body map[string]any)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.paths = append(f.paths, r.Method+" "+r.URL.Path)
		f.bodies = append(f.bodies, body)
		f.headers = append(f.headers, r.Header.Clone())
		limited := f.rateLimit > 0
		if limited {
			f.rateLimit--
		}
		f.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("retry-after-ms", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"rate limited","type":"rate_limit_error","code":"rate_limit_exceeded","status":"RESOURCE_EXHAUSTED"},"type":"error"}`)
			return
		}
		handle(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		_, _ = io.WriteString(w, e+"\n\n")
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
}

var req = ChatRequest{System: "the rules", Messages: []Message{{Role: "user", Content: "What about MFA?"}}}

func chatBoth(t *testing.T, c Chat) (ChatResponse, ChatResponse, string) {
	t.Helper()
	whole, err := c.Chat(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []string
	streamed, err := c.Chat(context.Background(), req, func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	return whole, streamed, strings.Join(deltas, "|")
}

func TestOpenAIChatStreamsEmbedsAndRetries(t *testing.T) {
	t.Parallel()
	f := &fake{rateLimit: 1}
	srv := f.serve(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		switch r.URL.Path {
		case "/v1/chat/completions":
			if body["stream"] == true {
				sse(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"MFA "}}]}`,
					`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"is required [1]."},"finish_reason":"stop"}]}`,
					`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}`,
					`data: [DONE]`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"MFA is required [1]."},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}`)
		case "/v1/embeddings":
			inputs := body["input"].([]any)
			var data []string
			for i := len(inputs) - 1; i >= 0; i-- { // out of order: the index decides
				data = append(data, fmt.Sprintf(`{"object":"embedding","index":%d,"embedding":[%d,0.5]}`, i, i))
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"object":"list","data":[%s],"model":"emb","usage":{"prompt_tokens":3,"total_tokens":3}}`, strings.Join(data, ","))
		default:
			http.NotFound(w, r)
		}
	})
	c, err := NewChat(Config{Provider: OpenAI, Model: "gpt-test", APIKey: "sk-test", BaseURL: srv.URL + "/v1", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	whole, streamed, deltas := chatBoth(t, c)
	if whole.Text != "MFA is required [1]." || whole.Usage != (Usage{11, 4}) {
		t.Fatalf("whole %+v", whole)
	}
	if streamed.Text != whole.Text || streamed.Usage != whole.Usage || deltas != "MFA |is required [1]." {
		t.Fatalf("streamed %+v, deltas %q", streamed, deltas)
	}
	// The 429 was retried; the request carried the system prompt first and the key.
	if f.paths[0] != f.paths[1] || f.headers[1].Get("Authorization") != "Bearer sk-test" {
		t.Fatalf("paths %v", f.paths)
	}
	msgs := f.bodies[1]["messages"].([]any)
	if m := msgs[0].(map[string]any); m["role"] != "system" || m["content"] != "the rules" || f.bodies[1]["model"] != "gpt-test" {
		t.Fatalf("request %v", f.bodies[1])
	}

	e, err := NewEmbedder(Config{Provider: Compatible, Model: "nomic-embed-text", BaseURL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := EmbedBatched(context.Background(), e, []string{"a", "b", "c", "d", "e"}, 2)
	if err != nil || len(vecs) != 5 || vecs[3][0] != 1 || vecs[4][0] != 0 {
		t.Fatalf("vectors %v %v", vecs, err)
	}
}

func TestAnthropicChatStreams(t *testing.T) {
	t.Parallel()
	f := &fake{rateLimit: 1}
	srv := f.serve(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.URL.Path != "/v1/messages" {
			http.NotFound(w, r)
			return
		}
		if body["stream"] == true {
			sse(w, `event: message_start`+"\n"+`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}`,
				`event: content_block_start`+"\n"+`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
				`event: ping`+"\n"+`data: {"type":"ping"}`,
				`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"MFA "}}`,
				`event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"is required [1]."}}`,
				`event: content_block_stop`+"\n"+`data: {"type":"content_block_stop","index":0}`,
				`event: message_delta`+"\n"+`data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}`,
				`event: message_stop`+"\n"+`data: {"type":"message_stop"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"MFA is required [1]."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":4}}`)
	})
	c, err := NewChat(Config{Provider: Anthropic, Model: "claude-test", APIKey: "sk-ant", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	whole, streamed, deltas := chatBoth(t, c)
	if whole.Text != "MFA is required [1]." || whole.Usage != (Usage{11, 4}) {
		t.Fatalf("whole %+v", whole)
	}
	if streamed.Text != whole.Text || streamed.Usage != whole.Usage || deltas != "MFA |is required [1]." {
		t.Fatalf("streamed %+v, deltas %q", streamed, deltas)
	}
	if len(f.paths) != 3 || f.headers[1].Get("Authorization") != "Bearer sk-ant" || f.headers[1].Get("Anthropic-Version") == "" {
		t.Fatalf("paths %v headers %v", f.paths, f.headers[1])
	}
	sys := f.bodies[1]["system"].([]any)[0].(map[string]any)
	if sys["text"] != "the rules" || f.bodies[1]["max_tokens"].(float64) != defaultMaxTokens {
		t.Fatalf("request %v", f.bodies[1])
	}
}

func TestGoogleChatStreamsAndEmbeds(t *testing.T) {
	t.Parallel()
	f := &fake{}
	srv := f.serve(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		const usage = `"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":4,"totalTokenCount":15}`
		switch {
		case strings.HasSuffix(r.URL.Path, "/models/gemini-test:generateContent"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"MFA is required [1]."}]},"finishReason":"STOP"}],`+usage+`}`)
		case strings.HasSuffix(r.URL.Path, "/models/gemini-test:streamGenerateContent"):
			sse(w, `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"MFA "}]}}]}`,
				`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"is required [1]."}]},"finishReason":"STOP"}],`+usage+`}`)
		case strings.HasSuffix(r.URL.Path, "/models/emb-test:batchEmbedContents"):
			n := len(body["requests"].([]any))
			var embs []string
			for i := 0; i < n; i++ {
				embs = append(embs, fmt.Sprintf(`{"values":[%d,1]}`, i))
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"embeddings":[%s]}`, strings.Join(embs, ","))
		default:
			http.NotFound(w, r)
		}
	})
	c, err := NewChat(Config{Provider: Google, Model: "gemini-test", APIKey: "g-key", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	whole, streamed, deltas := chatBoth(t, c)
	if whole.Text != "MFA is required [1]." || whole.Usage != (Usage{11, 4}) {
		t.Fatalf("whole %+v", whole)
	}
	if streamed.Text != whole.Text || streamed.Usage != whole.Usage || deltas != "MFA |is required [1]." {
		t.Fatalf("streamed %+v, deltas %q", streamed, deltas)
	}
	if f.headers[0].Get("X-Goog-Api-Key") != "g-key" {
		t.Fatalf("headers %v", f.headers[0])
	}
	si := f.bodies[0]["systemInstruction"].(map[string]any)["parts"].([]any)[0].(map[string]any)
	if si["text"] != "the rules" {
		t.Fatalf("request %v", f.bodies[0])
	}
	e, err := NewEmbedder(Config{Provider: Google, Model: "emb-test", APIKey: "g-key", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := e.Embed(context.Background(), []string{"a", "b", "c"})
	if err != nil || len(vecs) != 3 || vecs[2][0] != 2 {
		t.Fatalf("vectors %v %v", vecs, err)
	}
}

func TestErrorsAndValidation(t *testing.T) {
	t.Parallel()
	f := &fake{rateLimit: 100}
	srv := f.serve(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {})
	c, _ := NewChat(Config{Provider: OpenAI, Model: "m", APIKey: "k", BaseURL: srv.URL, MaxRetries: 2})
	if _, err := c.Chat(context.Background(), req, nil); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("rate limit: %v", err)
	}
	if len(f.paths) != 3 {
		t.Fatalf("%d attempts, want 3 (1 + 2 retries)", len(f.paths))
	}
	for _, bad := range []Config{
		{Provider: "x", Model: "m"},
		{Provider: OpenAI, Model: "m"},
		{Provider: Compatible, Model: "m"},
		{Provider: Anthropic, Model: "", APIKey: "k"},
		{Provider: OpenAI, Model: "m", APIKey: "k", BaseURL: "file:///etc/passwd"},
	} {
		if _, err := NewChat(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := NewEmbedder(Config{Provider: Anthropic, Model: "m", APIKey: "k"}); err == nil {
		t.Error("Anthropic accepted as an embedding provider")
	}
}
