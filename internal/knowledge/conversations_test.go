package knowledge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/llm"
)

func TestConversationsPerUser(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		b := setup(t, reg)
		b.upload(t, teamA, "access.md", accessPolicy)
		if _, err := b.s.SettingsSet(ctx, teamA, ProviderSettingsUpdate{ChatProvider: "openai", ChatModel: "gpt-test", ChatKey: strp("sk")}, admin); err != nil {
			t.Fatal(err)
		}
		first, err := b.s.Ask(ctx, teamA, AskParams{Question: "What MFA do contractors need?", UserID: "alice"})
		if err != nil || first.ConversationID == "" {
			t.Fatalf("first %+v %v", first, err)
		}
		if got := len(b.chat.reqs[len(b.chat.reqs)-1].Messages); got != 1 {
			t.Fatalf("a new conversation sent %d messages", got)
		}
		second, err := b.s.Ask(ctx, teamA, AskParams{Question: "Are SMS codes accepted for contractors?", UserID: "alice", ConversationID: first.ConversationID})
		if err != nil || second.ConversationID != first.ConversationID {
			t.Fatalf("second %+v %v", second, err)
		}
		msgs := b.chat.reqs[len(b.chat.reqs)-1].Messages
		if len(msgs) != 3 || msgs[0].Content != "What MFA do contractors need?" || msgs[1].Role != "assistant" ||
			msgs[1].Content != first.Answer || !strings.Contains(msgs[2].Content, "Are SMS codes accepted for contractors?") {
			t.Fatalf("history sent: %+v", msgs)
		}
		c, err := b.s.ConversationGet(ctx, teamA, "alice", first.ConversationID)
		if err != nil || c.Title != "What MFA do contractors need?" || len(c.Turns) != 2 || c.Turns[1].Question != "Are SMS codes accepted for contractors?" ||
			len(c.Turns[0].Citations) != 1 || c.Turns[0].Citations[0].DocumentName != "access.md" {
			t.Fatalf("conversation %+v %v", c, err)
		}
		// Another user of the team, or another team, sees nothing of it.
		if _, err := b.s.ConversationGet(ctx, teamA, "bob", first.ConversationID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("bob reads alice's conversation: %v", err)
		}
		if _, err := b.s.ConversationGet(ctx, teamB, "alice", first.ConversationID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("team B reads it: %v", err)
		}
		if _, err := b.s.Ask(ctx, teamA, AskParams{Question: "more?", UserID: "bob", ConversationID: first.ConversationID}); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("bob continues alice's conversation: %v", err)
		}
		if err := b.s.ConversationDelete(ctx, teamA, "bob", first.ConversationID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("bob deletes alice's conversation: %v", err)
		}
		if list, _ := b.s.ConversationList(ctx, teamA, "bob"); len(list) != 0 {
			t.Fatalf("bob's list %+v", list)
		}
		list, err := b.s.ConversationList(ctx, teamA, "alice")
		if err != nil || len(list) != 1 || list[0].Messages != 2 {
			t.Fatalf("alice's list %+v %v", list, err)
		}
		if err := b.s.ConversationDelete(ctx, teamA, "alice", first.ConversationID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.ConversationGet(ctx, teamA, "alice", first.ConversationID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("deleted conversation: %v", err)
		}
	})
}

func TestHistoryIsBounded(t *testing.T) {
	t.Parallel()
	var turns []ConversationMessage
	for range 20 {
		turns = append(turns, ConversationMessage{Question: "q", Answer: "a"})
	}
	if h := history(turns); len(h) != 2*HistoryTurns {
		t.Fatalf("%d messages, want %d", len(h), 2*HistoryTurns)
	}
	big := strings.Repeat("x", HistoryChars/2)
	turns = []ConversationMessage{{Question: "old", Answer: "old"}, {Question: big, Answer: big}, {Question: "new", Answer: "new"}}
	h := history(turns)
	if len(h) != 2 || h[0] != (llm.Message{Role: "user", Content: "new"}) {
		t.Fatalf("history over the character budget: %d messages", len(h))
	}
}
