package knowledge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/llm"
)

// ErrBudgetSpent means the team has used its monthly token budget: the
// question is refused before any provider is called.
var ErrBudgetSpent = errors.New("monthly token budget spent")

// budgetMonth is the calendar month (UTC) of t as stored ("2026-12") and
// the instant the next one starts.
func budgetMonth(t time.Time) (string, time.Time) {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start.Format("2006-01"), start.AddDate(0, 1, 0)
}

// tokensUsed is the team's chat tokens (input and output) in month.
func (s *Service) tokensUsed(ctx context.Context, teamID, month string) (int64, error) {
	var used int64
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		err := q.QueryRowContext(ctx, `SELECT input_tokens + output_tokens FROM kb_token_usage WHERE team_id = $1 AND month = $2`,
			teamID, month).Scan(&used)
		if err = db.MapError(err); errors.Is(err, db.ErrNotFound) {
			return nil
		}
		return err
	})
	return used, err
}

// checkBudget refuses when the team has a budget and this month's usage
// has reached it. A team without a chat provider spends no tokens.
func (s *Service) checkBudget(ctx context.Context, teamID string) error {
	st, err := s.loadSettings(ctx, teamID)
	if err != nil || st.ChatProvider == "" || st.MonthlyTokenBudget <= 0 {
		return err
	}
	month, resets := budgetMonth(s.now())
	used, err := s.tokensUsed(ctx, teamID, month)
	if err != nil {
		return err
	}
	if used >= st.MonthlyTokenBudget {
		return fmt.Errorf("%w: the team has used %d of its %d chat tokens for %s; the budget resets at %s",
			ErrBudgetSpent, used, st.MonthlyTokenBudget, month, resets.Format(time.RFC3339))
	}
	return nil
}

// recordUsage adds what the provider reported to this month's usage.
func (s *Service) recordUsage(ctx context.Context, teamID string, u llm.Usage) {
	if u.InputTokens <= 0 && u.OutputTokens <= 0 {
		return
	}
	month, _ := budgetMonth(s.now())
	ctx = context.WithoutCancel(ctx) // the tokens were spent even when the caller has gone
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO kb_token_usage (team_id, month, input_tokens, output_tokens, requests)
			VALUES ($1, $2, $3, $4, 1)
			ON CONFLICT (team_id, month) DO UPDATE SET input_tokens = kb_token_usage.input_tokens + excluded.input_tokens,
			output_tokens = kb_token_usage.output_tokens + excluded.output_tokens, requests = kb_token_usage.requests + 1`,
			teamID, month, max(u.InputTokens, 0), max(u.OutputTokens, 0))
		return err
	})
	if err != nil {
		s.logger.Warn("knowledge base: recording token usage failed", "team_id", teamID, "err", err)
	}
}
