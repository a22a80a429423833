package knowledge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
)

func TestMonthlyTokenBudget(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		b := setup(t, reg)
		now := time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)
		b.s.now = func() time.Time { return now }
		b.upload(t, teamA, "access.md", accessPolicy)
		b.upload(t, teamB, "access.md", accessPolicy)
		q := AskParams{Question: "What MFA do contractors need?"}

		// The fake reports 100 input and 10 output tokens per answer.
		st, err := b.s.SettingsSet(ctx, teamA, ProviderSettingsUpdate{ChatProvider: "openai", ChatModel: "gpt-test",
			ChatKey: strp("sk"), MonthlyTokenBudget: new(int64(200))}, admin)
		if err != nil || st.MonthlyTokenBudget != 200 || st.TokensUsed != 0 || st.TokensRemaining == nil || *st.TokensRemaining != 200 ||
			!st.BudgetResetsAt.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("settings %+v %v", st, err)
		}
		if _, err := b.s.SettingsSet(ctx, teamB, ProviderSettingsUpdate{ChatProvider: "openai", ChatModel: "gpt-test", ChatKey: strp("sk")}, admin); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := b.s.Ask(ctx, teamA, q); err != nil {
				t.Fatal(err)
			}
		}
		calls := len(b.chat.reqs)
		_, err = b.s.Ask(ctx, teamA, q)
		if !errors.Is(err, ErrBudgetSpent) || !strings.Contains(err.Error(), "220 of its 200") ||
			!strings.Contains(err.Error(), "resets at 2027-01-01T00:00:00Z") {
			t.Fatalf("over budget: %v", err)
		}
		if len(b.chat.reqs) != calls {
			t.Fatal("the provider was called over budget")
		}
		st, _ = b.s.SettingsGet(ctx, teamA)
		if st.TokensUsed != 220 || *st.TokensRemaining != 0 {
			t.Fatalf("usage %+v", st)
		}
		// Another team's usage is its own; without a budget it is unlimited.
		if _, err := b.s.Ask(ctx, teamB, q); err != nil {
			t.Fatal(err)
		}
		if st, _ := b.s.SettingsGet(ctx, teamB); st.TokensUsed != 110 || st.TokensRemaining != nil {
			t.Fatalf("team B usage %+v", st)
		}
		// Omitting the budget keeps it; raising it lets questions through.
		st, err = b.s.SettingsSet(ctx, teamA, ProviderSettingsUpdate{ChatProvider: "openai", ChatModel: "gpt-test"}, admin)
		if err != nil || st.MonthlyTokenBudget != 200 {
			t.Fatalf("kept budget %+v %v", st, err)
		}
		if _, err := b.s.SettingsSet(ctx, teamA, ProviderSettingsUpdate{ChatProvider: "openai", ChatModel: "gpt-test",
			MonthlyTokenBudget: new(int64(-1))}, admin); !errors.Is(err, ErrInvalid) {
			t.Fatalf("negative budget: %v", err)
		}
		// A new month starts from zero.
		now = now.Add(2 * time.Hour)
		if _, err := b.s.Ask(ctx, teamA, q); err != nil {
			t.Fatalf("new month: %v", err)
		}
		if st, _ := b.s.SettingsGet(ctx, teamA); st.TokensUsed != 110 {
			t.Fatalf("new month usage %+v", st)
		}
	})
}
