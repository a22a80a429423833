package app_test

import (
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// The monthly token budget: ADMIN sets it with the providers, each answer
// adds the provider's reported tokens, and once it is spent /ask answers 429
// without calling the provider.
func TestKnowledgeTokenBudgetOverHTTP(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		fake := &fakeOpenAI{}
		srv := fake.server(t)
		e := newEnvWithWorkers(t, reg, nil)
		tm := e.team("a")
		admin := e.login(e.user(tm.ID, rbac.Admin).Email)
		viewer := e.login(e.user(tm.ID, rbac.Viewer).Email)
		status, body := admin.upload("/api/v1/knowledge/documents", "access.md", []byte(kbPolicy))
		if status != 201 {
			t.Fatalf("upload: %d %s", status, body)
		}
		up := decode[struct {
			Results []knowledge.UploadResult `json:"results"`
		}](t, body).Results[0]
		waitReady(t, viewer, up.Document.ID, false)

		// The fake reports 50 input and 8 output tokens per answer.
		settings := map[string]any{"chat_provider": "openai_compatible", "chat_model": "m", "chat_base_url": srv.URL + "/v1",
			"embed_provider": "", "embed_model": "", "embed_base_url": "", "monthly_token_budget": 100}
		status, body = admin.do("PUT", "/api/v1/knowledge/settings", settings)
		if status != 200 || !strings.Contains(string(body), `"monthly_token_budget":100`) || !strings.Contains(string(body), `"tokens_remaining":100`) {
			t.Fatalf("settings: %d %s", status, body)
		}
		q := map[string]any{"question": "What MFA do contractors need?"}
		for range 2 {
			if status, body := viewer.do("POST", "/api/v1/knowledge/ask", q); status != 200 {
				t.Fatalf("ask: %d %s", status, body)
			}
		}
		asked := len(fake.prompts)
		status, body, hdr := viewer.doH("POST", "/api/v1/knowledge/ask", q, nil)
		if status != 429 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") ||
			!strings.Contains(string(body), "116 of its 100") || !strings.Contains(string(body), "resets at") {
			t.Fatalf("over budget: %d %s %s", status, hdr.Get("Content-Type"), body)
		}
		status, body, hdr = viewer.doH("POST", "/api/v1/knowledge/ask/stream", q, nil)
		if status != 429 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") || !strings.Contains(string(body), "budget") {
			t.Fatalf("stream over budget: %d %s", status, body)
		}
		if len(fake.prompts) != asked {
			t.Fatal("the provider was called over budget")
		}
		_, body = viewer.do("GET", "/api/v1/knowledge/settings", nil)
		st := decode[knowledge.ProviderSettings](t, body)
		if st.TokensUsed != 116 || st.TokensRemaining == nil || *st.TokensRemaining != 0 || st.BudgetResetsAt.IsZero() {
			t.Fatalf("settings after: %s", body)
		}
		// 0 is unlimited.
		settings["monthly_token_budget"] = 0
		if status, body := admin.do("PUT", "/api/v1/knowledge/settings", settings); status != 200 || strings.Contains(string(body), "tokens_remaining") {
			t.Fatalf("unlimited: %d %s", status, body)
		}
		if status, body := viewer.do("POST", "/api/v1/knowledge/ask", q); status != 200 {
			t.Fatalf("ask unlimited: %d %s", status, body)
		}
	})
}
