package llm

import (
	"context"
	"fmt"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

type anthropicChat struct {
	c      Config
	client anthropic.Client
}

func newAnthropic(c Config) *anthropicChat {
	opts := []option.RequestOption{option.WithAPIKey(c.APIKey), option.WithMaxRetries(c.retries()),
		option.WithHTTPClient(c.httpClient()), option.WithRequestTimeout(c.timeout())}
	if c.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(c.BaseURL))
	}
	return &anthropicChat{c: c, client: anthropic.NewClient(opts...)}
}

func (a *anthropicChat) Provider() string { return Anthropic }
func (a *anthropicChat) Model() string    { return a.c.Model }

func (a *anthropicChat) Chat(ctx context.Context, req ChatRequest, onDelta func(string)) (ChatResponse, error) {
	var msgs []anthropic.MessageParam
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			msgs = append(msgs, anthropic.NewAssistantMessage(anthropic.NewTextBlock(m.Content)))
		} else {
			msgs = append(msgs, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		}
	}
	params := anthropic.MessageNewParams{Model: a.c.Model, MaxTokens: int64(maxTokens(req.MaxTokens)),
		Messages: msgs, System: []anthropic.TextBlockParam{{Text: req.System}}}
	if onDelta == nil {
		res, err := a.client.Messages.New(ctx, params)
		if err != nil {
			return ChatResponse{}, fmt.Errorf("anthropic chat: %w", err)
		}
		return anthropicResponse(res), nil
	}
	stream := a.client.Messages.NewStreaming(ctx, params)
	defer stream.Close()
	var msg anthropic.Message
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			return ChatResponse{}, fmt.Errorf("anthropic chat: %w", err)
		}
		if ev.Type == "content_block_delta" && ev.Delta.Text != "" {
			onDelta(ev.Delta.Text)
		}
	}
	if err := stream.Err(); err != nil {
		return ChatResponse{}, fmt.Errorf("anthropic chat: %w", err)
	}
	return anthropicResponse(&msg), nil
}

func anthropicResponse(m *anthropic.Message) ChatResponse {
	var b strings.Builder
	for _, c := range m.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return ChatResponse{Text: b.String(), Usage: Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens}}
}
