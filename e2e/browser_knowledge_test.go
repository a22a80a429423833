package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// fakeOpenAIChat is a local server speaking OpenAI's streamed chat
// completions; it answers every question with the same cited sentence.
func fakeOpenAIChat(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["stream"] != true {
			http.Error(w, "want a stream", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, part := range []string{"Contractors use ", "hardware security keys [1]."} {
			_, _ = fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", part)
		}
		_, _ = fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":7,\"total_tokens\":47}}\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// An ADMIN points the team's chat at an OpenAI-compatible server, uploads a
// policy in the library with tags, waits for it to be processed, asks a
// question, reads the streamed answer and opens its citation's passage.
func TestBrowserKnowledgeBase(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	llm := fakeOpenAIChat(t)
	p, password := servePlatform(t)

	c, csrf := apiSession(t, p.url, "admin@cspm.local", password)
	body, _ := json.Marshal(map[string]any{"chat_provider": "openai_compatible", "chat_model": "m", "chat_base_url": llm.URL + "/v1", "chat_key": "sk-e2e",
		"embed_provider": "", "embed_model": "", "embed_base_url": ""})
	req, _ := http.NewRequest("PUT", p.url+"/api/v1/knowledge/settings", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.Contains(string(b), "sk-e2e") {
		t.Fatalf("settings: %d %s", res.StatusCode, b)
	}

	policy := filepath.Join(t.TempDir(), "access-control.md")
	if err := os.WriteFile(policy, []byte("# Access Control Policy\n\n## 4.2 Remote access\n\n"+
		"Contractors must use hardware security keys for MFA when they reach production.\n\n## 4.3 Reviews\n\nQuarterly.\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	sctx := step(t, ctx)
	signIn(t, sctx, p.url, "admin@cspm.local", password)
	if err := chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-menu"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/knowledge-base"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kb-tab-library"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="kb-tab-library"]`)),
		chromedp.WaitReady(chromedp.CSS(`input[type="file"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{policy}),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="kb-tags"]`), "access, iso27001"),
		chromedp.Click(chromedp.CSS(`[data-testid="kb-upload"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="kb-document"][contains(., "access-control.md")]//*[@data-testid="kb-status"][contains(., "ready")]`)),
	); err != nil {
		shot(t, sctx, "kb-library")
		t.Fatal(err)
	}
	if row := text(t, sctx, `[data-testid="kb-document"]`); !strings.Contains(row, "Access Control Policy") || !strings.Contains(strings.ToLower(row), "iso27001") {
		t.Errorf("library row %q", row)
	}

	actx := step(t, ctx)
	if err := chromedp.Do(actx,
		chromedp.Click(chromedp.CSS(`[data-testid="kb-tab-ask"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kb-question"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="kb-question"]`), "What MFA do contractors need?"),
		chromedp.Click(chromedp.CSS(`[data-testid="kb-ask"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kb-citation"]`)),
	); err != nil {
		shot(t, actx, "kb-ask")
		t.Fatal(err)
	}
	if got := text(t, actx, `[data-testid="kb-answer"]`); !strings.Contains(got, "Contractors use hardware security keys [1].") {
		t.Errorf("answer %q", got)
	}
	if got := text(t, actx, `[data-testid="kb-citation"]`); !strings.Contains(got, "access-control.md") || !strings.Contains(got, "Access Control Policy > 4.2 Remote access") {
		t.Errorf("citation %q", got)
	}
	if err := chromedp.Do(actx,
		chromedp.Click(chromedp.CSS(`[data-testid="kb-citation"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="kb-passage"]`)),
	); err != nil {
		shot(t, actx, "kb-passage")
		t.Fatal(err)
	}
	if got := text(t, actx, `[data-testid="kb-passage"]`); !strings.Contains(got, "hardware security keys for MFA") {
		t.Errorf("passage %q", got)
	}
}
