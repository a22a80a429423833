package knowledge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/llm"
)

// ProviderSettings are a team's providers as the API shows them: keys never leave
// the server, only whether one is set.
type ProviderSettings struct {
	ChatProvider  string `json:"chat_provider" enum:",openai,anthropic,google,openai_compatible" doc:"Empty: no chat; answers are the best passages."`
	ChatModel     string `json:"chat_model"`
	ChatBaseURL   string `json:"chat_base_url" doc:"Empty for the provider's own endpoint."`
	ChatKeySet    bool   `json:"chat_key_set"`
	EmbedProvider string `json:"embed_provider" enum:",openai,google,openai_compatible" doc:"Empty: full-text search only."`
	EmbedModel    string `json:"embed_model"`
	EmbedBaseURL  string `json:"embed_base_url"`
	EmbedKeySet   bool   `json:"embed_key_set"`
	// MonthlyTokenBudget is the chat tokens (input and output, as the
	// provider reports them) the team may use per calendar month (UTC); 0 is unlimited.
	MonthlyTokenBudget int64 `json:"monthly_token_budget" doc:"Chat tokens per calendar month (UTC); 0: unlimited."`
	// TokensUsed is this month's usage; TokensRemaining is nil when unlimited.
	TokensUsed      int64      `json:"tokens_used" doc:"Chat tokens used this calendar month (UTC)."`
	TokensRemaining *int64     `json:"tokens_remaining,omitempty" doc:"Absent when the budget is unlimited."`
	BudgetResetsAt  time.Time  `json:"budget_resets_at" doc:"When this month's usage starts again from zero."`
	UpdatedBy       string     `json:"updated_by,omitempty"`
	UpdatedAt       *time.Time `json:"updated_at,omitempty"`
}

// ProviderSettingsUpdate changes a team's providers. A nil key keeps the stored
// one; an empty key removes it.
type ProviderSettingsUpdate struct {
	ChatProvider  string  `json:"chat_provider" enum:",openai,anthropic,google,openai_compatible"`
	ChatModel     string  `json:"chat_model" maxLength:"200"`
	ChatBaseURL   string  `json:"chat_base_url" maxLength:"500"`
	ChatKey       *string `json:"chat_key,omitempty" maxLength:"500" doc:"Omit to keep the stored key; empty to remove it."`
	EmbedProvider string  `json:"embed_provider" enum:",openai,google,openai_compatible"`
	EmbedModel    string  `json:"embed_model" maxLength:"200"`
	EmbedBaseURL  string  `json:"embed_base_url" maxLength:"500"`
	EmbedKey      *string `json:"embed_key,omitempty" maxLength:"500" doc:"Omit to keep the stored key; empty to remove it."`
	// MonthlyTokenBudget: nil keeps the stored budget; 0 is unlimited.
	MonthlyTokenBudget *int64 `json:"monthly_token_budget,omitempty" minimum:"0" doc:"Chat tokens per calendar month (UTC); 0: unlimited; omit to keep."`
}

type storedSettings struct {
	ProviderSettings
	chatKey, embedKey string // sealed
}

func sealContext(teamID, role string) string { return "kb:" + role + ":" + teamID }

func (s *Service) loadSettings(ctx context.Context, teamID string) (storedSettings, error) {
	var st storedSettings
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var at db.Time
		err := q.QueryRowContext(ctx, `SELECT chat_provider, chat_model, chat_base_url, chat_key, embed_provider, embed_model,
			embed_base_url, embed_key, updated_by, updated_at, monthly_token_budget FROM kb_settings WHERE team_id = $1`, teamID).Scan(
			&st.ChatProvider, &st.ChatModel, &st.ChatBaseURL, &st.chatKey, &st.EmbedProvider, &st.EmbedModel,
			&st.EmbedBaseURL, &st.embedKey, &st.UpdatedBy, &at, &st.MonthlyTokenBudget)
		if err != nil {
			return db.MapError(err)
		}
		t := at.UTC()
		st.UpdatedAt = &t
		return nil
	})
	if errors.Is(err, db.ErrNotFound) {
		return storedSettings{}, nil
	}
	st.ChatKeySet, st.EmbedKeySet = st.chatKey != "", st.embedKey != ""
	return st, err
}

// SettingsGet returns the team's providers without their keys, with this
// month's token usage against the budget.
func (s *Service) SettingsGet(ctx context.Context, teamID string) (ProviderSettings, error) {
	st, err := s.loadSettings(ctx, teamID)
	if err != nil {
		return ProviderSettings{}, err
	}
	out := st.ProviderSettings
	month, resets := budgetMonth(s.now())
	if out.TokensUsed, err = s.tokensUsed(ctx, teamID, month); err != nil {
		return ProviderSettings{}, err
	}
	out.BudgetResetsAt = resets
	if out.MonthlyTokenBudget > 0 {
		left := max(out.MonthlyTokenBudget-out.TokensUsed, 0)
		out.TokensRemaining = &left
	}
	return out, nil
}

// checkBaseURL refuses link-local addresses (cloud metadata services live
// there) as a provider's base URL.
func checkBaseURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: base URL: %v", ErrInvalid, err) //nolint:errorlint // the cause is told, not wrapped
	}
	host := strings.Trim(u.Hostname(), "[]")
	if ip := net.ParseIP(host); ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()) {
		return fmt.Errorf("%w: base URL %s is a link-local address", ErrInvalid, host)
	}
	if strings.EqualFold(host, "metadata.google.internal") {
		return fmt.Errorf("%w: base URL names the cloud metadata service", ErrInvalid)
	}
	return nil
}

// SettingsSet stores the team's providers, sealing keys; a change of the
// embedding model queues the re-embedding of every chunk.
func (s *Service) SettingsSet(ctx context.Context, teamID string, u ProviderSettingsUpdate, actor audit.Event) (ProviderSettings, error) {
	old, err := s.loadSettings(ctx, teamID)
	if err != nil {
		return ProviderSettings{}, err
	}
	if s.box == nil && ((u.ChatKey != nil && *u.ChatKey != "") || (u.EmbedKey != nil && *u.EmbedKey != "")) {
		return ProviderSettings{}, fmt.Errorf("%w: no secret key is configured to seal provider keys", ErrInvalid)
	}
	chatKey, embedKey := old.chatKey, old.embedKey
	var plainChat, plainEmbed string
	if u.ChatKey != nil {
		chatKey, plainChat = "", strings.TrimSpace(*u.ChatKey)
		if plainChat != "" {
			chatKey = s.box.Seal(plainChat, sealContext(teamID, "chat"))
		}
	} else if chatKey != "" {
		if plainChat, err = s.box.Open(chatKey, sealContext(teamID, "chat")); err != nil {
			return ProviderSettings{}, fmt.Errorf("%w: the stored chat key cannot be opened (was the secret key rotated?); enter it again", ErrInvalid)
		}
	}
	if u.EmbedKey != nil {
		embedKey, plainEmbed = "", strings.TrimSpace(*u.EmbedKey)
		if plainEmbed != "" {
			embedKey = s.box.Seal(plainEmbed, sealContext(teamID, "embed"))
		}
	} else if embedKey != "" {
		if plainEmbed, err = s.box.Open(embedKey, sealContext(teamID, "embed")); err != nil {
			return ProviderSettings{}, fmt.Errorf("%w: the stored embed key cannot be opened (was the secret key rotated?); enter it again", ErrInvalid)
		}
	}
	u.ChatModel, u.EmbedModel = strings.TrimSpace(u.ChatModel), strings.TrimSpace(u.EmbedModel)
	u.ChatBaseURL, u.EmbedBaseURL = strings.TrimSpace(u.ChatBaseURL), strings.TrimSpace(u.EmbedBaseURL)
	if u.ChatProvider != "" {
		c := llm.Config{Provider: u.ChatProvider, Model: u.ChatModel, BaseURL: u.ChatBaseURL, APIKey: plainChat}
		if err := c.Validate("chat"); err != nil {
			return ProviderSettings{}, fmt.Errorf("%w: %v", ErrInvalid, err) //nolint:errorlint // the cause is told, not wrapped
		}
	}
	if u.EmbedProvider != "" {
		c := llm.Config{Provider: u.EmbedProvider, Model: u.EmbedModel, BaseURL: u.EmbedBaseURL, APIKey: plainEmbed}
		if err := c.Validate("embedding"); err != nil {
			return ProviderSettings{}, fmt.Errorf("%w: %v", ErrInvalid, err) //nolint:errorlint // the cause is told, not wrapped
		}
	}
	for _, raw := range []string{u.ChatBaseURL, u.EmbedBaseURL} {
		if err := checkBaseURL(raw); err != nil {
			return ProviderSettings{}, err
		}
	}
	budget := old.MonthlyTokenBudget
	if u.MonthlyTokenBudget != nil {
		if *u.MonthlyTokenBudget < 0 {
			return ProviderSettings{}, fmt.Errorf("%w: the monthly token budget cannot be negative", ErrInvalid)
		}
		budget = *u.MonthlyTokenBudget
	}
	now := s.now().UTC()
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO kb_settings (team_id, chat_provider, chat_model, chat_base_url, chat_key,
			embed_provider, embed_model, embed_base_url, embed_key, updated_by, updated_at, monthly_token_budget)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (team_id) DO UPDATE SET chat_provider = excluded.chat_provider, chat_model = excluded.chat_model,
			chat_base_url = excluded.chat_base_url, chat_key = excluded.chat_key, embed_provider = excluded.embed_provider,
			embed_model = excluded.embed_model, embed_base_url = excluded.embed_base_url, embed_key = excluded.embed_key,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at, monthly_token_budget = excluded.monthly_token_budget`,
			teamID, u.ChatProvider, u.ChatModel, u.ChatBaseURL, chatKey, u.EmbedProvider, u.EmbedModel, u.EmbedBaseURL,
			embedKey, actor.ActorEmail, now, budget)
		return err
	})
	if err != nil {
		return ProviderSettings{}, err
	}
	// Audited without keys: only whether each changed.
	s.record(ctx, actor, teamID, "kb.settings_changed", "kb_settings", teamID, map[string]any{
		"chat_provider": u.ChatProvider, "chat_model": u.ChatModel, "chat_base_url": u.ChatBaseURL, "chat_key_changed": u.ChatKey != nil,
		"embed_provider": u.EmbedProvider, "embed_model": u.EmbedModel, "embed_base_url": u.EmbedBaseURL, "embed_key_changed": u.EmbedKey != nil,
		"monthly_token_budget": budget})
	if u.EmbedProvider != "" && (modelKey(u.EmbedProvider, u.EmbedModel, u.EmbedBaseURL) !=
		modelKey(old.EmbedProvider, old.EmbedModel, old.EmbedBaseURL) || u.EmbedKey != nil) {
		if err := s.enqueueEmbed(ctx, teamID); err != nil {
			s.logger.Warn("queueing the re-embedding failed", "team_id", teamID, "err", err)
		}
	}
	return s.SettingsGet(ctx, teamID)
}

// modelKey names the model vectors are stored under: provider and model,
// so that the same model name at two providers is not mixed.
func modelKey(provider, model, _ string) string {
	if provider == "" {
		return ""
	}
	return provider + ":" + model
}

// embedModel is the team's current vector model key, "" without one.
func (s *Service) embedModel(ctx context.Context, teamID string) string {
	st, err := s.loadSettings(ctx, teamID)
	if err != nil {
		return ""
	}
	return modelKey(st.EmbedProvider, st.EmbedModel, st.EmbedBaseURL)
}

// embedder returns the team's embedding client and model key; nil when
// none is configured.
func (s *Service) embedder(ctx context.Context, teamID string) (llm.Embedder, string, error) {
	st, err := s.loadSettings(ctx, teamID)
	if err != nil || st.EmbedProvider == "" {
		return nil, "", err
	}
	key := ""
	if st.embedKey != "" {
		if key, err = s.box.Open(st.embedKey, sealContext(teamID, "embed")); err != nil {
			return nil, "", err
		}
	}
	e, err := s.newEmbedder(llm.Config{Provider: st.EmbedProvider, Model: st.EmbedModel, BaseURL: st.EmbedBaseURL, APIKey: key,
		HTTPClient: s.http})
	if err != nil {
		return nil, "", err
	}
	return e, modelKey(st.EmbedProvider, st.EmbedModel, st.EmbedBaseURL), nil
}

// chat returns the team's chat client; nil when none is configured.
func (s *Service) chat(ctx context.Context, teamID string) (llm.Chat, error) {
	st, err := s.loadSettings(ctx, teamID)
	if err != nil || st.ChatProvider == "" {
		return nil, err
	}
	key := ""
	if st.chatKey != "" {
		if key, err = s.box.Open(st.chatKey, sealContext(teamID, "chat")); err != nil {
			return nil, err
		}
	}
	return s.newChat(llm.Config{Provider: st.ChatProvider, Model: st.ChatModel, BaseURL: st.ChatBaseURL, APIKey: key,
		HTTPClient: s.http})
}
