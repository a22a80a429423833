package app_test

import (
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/rbac"
)

// Conversations belong to their user: saved by /ask, continued with
// conversation_id (the recent turns go to the provider), listed, read and
// deleted by their user only; another user of the team gets 404.
func TestKnowledgeConversationsOverHTTP(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		fake := &fakeOpenAI{}
		srv := fake.server(t)
		e := newEnvWithWorkers(t, reg, nil)
		tm := e.team("a")
		admin := e.login(e.user(tm.ID, rbac.Admin).Email)
		alice := e.login(e.user(tm.ID, rbac.Viewer).Email)
		bob := e.login(e.user(tm.ID, rbac.Auditor).Email)
		status, body := admin.upload("/api/v1/knowledge/documents", "access.md", []byte(kbPolicy))
		if status != 201 {
			t.Fatalf("upload: %d %s", status, body)
		}
		up := decode[struct {
			Results []knowledge.UploadResult `json:"results"`
		}](t, body).Results[0]
		waitReady(t, alice, up.Document.ID, false)
		settings := map[string]any{"chat_provider": "openai_compatible", "chat_model": "m", "chat_base_url": srv.URL + "/v1",
			"embed_provider": "", "embed_model": "", "embed_base_url": ""}
		if status, body := admin.do("PUT", "/api/v1/knowledge/settings", settings); status != 200 {
			t.Fatalf("settings: %d %s", status, body)
		}

		_, body = alice.do("POST", "/api/v1/knowledge/ask", map[string]any{"question": "What MFA do contractors need?"})
		first := decode[knowledge.Answer](t, body)
		if first.ConversationID == "" {
			t.Fatalf("no conversation: %s", body)
		}
		status, body = alice.do("POST", "/api/v1/knowledge/ask/stream", map[string]any{"question": "Are hardware keys needed for contractors?",
			"conversation_id": first.ConversationID})
		if status != 200 || !strings.Contains(string(body), `"conversation_id":"`+first.ConversationID+`"`) {
			t.Fatalf("stream in the conversation: %d %s", status, body)
		}
		_, body = alice.do("GET", "/api/v1/knowledge/conversations", nil)
		list := decode[struct {
			Conversations []knowledge.Conversation `json:"conversations"`
		}](t, body).Conversations
		if len(list) != 1 || list[0].ID != first.ConversationID || list[0].Messages != 2 {
			t.Fatalf("list: %s", body)
		}
		_, body = alice.do("GET", "/api/v1/knowledge/conversations/"+first.ConversationID, nil)
		c := decode[knowledge.ConversationDetail](t, body)
		if len(c.Turns) != 2 || len(c.Turns[0].Citations) != 1 || c.Turns[1].Answer != "Contractors need hardware keys [1]." {
			t.Fatalf("conversation: %s", body)
		}

		// Bob, of the same team: 404 everywhere, and nothing listed.
		path := "/api/v1/knowledge/conversations/" + first.ConversationID
		for _, m := range []string{"GET", "DELETE"} {
			if status, _ := bob.do(m, path, nil); status != 404 {
				t.Errorf("bob %s alice's conversation: %d", m, status)
			}
		}
		q := map[string]any{"question": "What MFA do contractors need?", "conversation_id": first.ConversationID}
		asked := len(fake.prompts)
		if status, _ := bob.do("POST", "/api/v1/knowledge/ask", q); status != 404 {
			t.Errorf("bob continues alice's conversation: %d", status)
		}
		if status, _ := bob.do("POST", "/api/v1/knowledge/ask/stream", q); status != 404 {
			t.Errorf("bob streams into alice's conversation: %d", status)
		}
		if len(fake.prompts) != asked {
			t.Error("the provider was asked for bob")
		}
		if _, body := bob.do("GET", "/api/v1/knowledge/conversations", nil); strings.Contains(string(body), first.ConversationID) {
			t.Errorf("bob's list: %s", body)
		}

		if status, _ := alice.do("DELETE", path, nil); status != 204 {
			t.Fatalf("delete: %d", status)
		}
		if status, _ := alice.do("GET", path, nil); status != 404 {
			t.Fatalf("deleted: %d", status)
		}
	})
}
