package llm

import (
	"context"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func openAIClient(c Config) openai.Client {
	opts := []option.RequestOption{option.WithMaxRetries(c.retries()), option.WithHTTPClient(c.httpClient()),
		option.WithRequestTimeout(c.timeout())}
	key := c.APIKey
	if key == "" {
		key = "none" // Ollama and vLLM take any key; the SDK insists on one
	}
	opts = append(opts, option.WithAPIKey(key))
	if c.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(c.BaseURL))
	}
	return openai.NewClient(opts...)
}

type openAIChat struct {
	c      Config
	client openai.Client
}

func newOpenAIChat(c Config) *openAIChat { return &openAIChat{c: c, client: openAIClient(c)} }

func (o *openAIChat) Provider() string { return o.c.Provider }
func (o *openAIChat) Model() string    { return o.c.Model }

func (o *openAIChat) Chat(ctx context.Context, req ChatRequest, onDelta func(string)) (ChatResponse, error) {
	msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(req.System)}
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			msgs = append(msgs, openai.AssistantMessage(m.Content))
		} else {
			msgs = append(msgs, openai.UserMessage(m.Content))
		}
	}
	params := openai.ChatCompletionNewParams{Model: o.c.Model, Messages: msgs,
		MaxCompletionTokens: openai.Int(int64(maxTokens(req.MaxTokens)))}
	if onDelta == nil {
		res, err := o.client.Chat.Completions.New(ctx, params)
		if err != nil {
			return ChatResponse{}, fmt.Errorf("%s chat: %w", o.c.Provider, err)
		}
		out := ChatResponse{Usage: Usage{InputTokens: res.Usage.PromptTokens, OutputTokens: res.Usage.CompletionTokens}}
		if len(res.Choices) > 0 {
			out.Text = res.Choices[0].Message.Content
		}
		return out, nil
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := o.client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()
	var out ChatResponse
	var text []byte
	for stream.Next() {
		ch := stream.Current()
		if ch.Usage.PromptTokens > 0 || ch.Usage.CompletionTokens > 0 {
			out.Usage = Usage{InputTokens: ch.Usage.PromptTokens, OutputTokens: ch.Usage.CompletionTokens}
		}
		for _, choice := range ch.Choices {
			if d := choice.Delta.Content; d != "" {
				text = append(text, d...)
				onDelta(d)
			}
		}
	}
	if err := stream.Err(); err != nil {
		return ChatResponse{}, fmt.Errorf("%s chat: %w", o.c.Provider, err)
	}
	out.Text = string(text)
	return out, nil
}

type openAIEmbedder struct {
	c      Config
	client openai.Client
}

func newOpenAIEmbedder(c Config) *openAIEmbedder {
	return &openAIEmbedder{c: c, client: openAIClient(c)}
}

func (o *openAIEmbedder) Model() string { return o.c.Model }

func (o *openAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	res, err := o.client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: o.c.Model,
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}})
	if err != nil {
		return nil, fmt.Errorf("%s embeddings: %w", o.c.Provider, err)
	}
	out := make([][]float32, len(texts))
	for _, d := range res.Data {
		if d.Index < 0 || int(d.Index) >= len(texts) {
			return nil, fmt.Errorf("%s embeddings: index %d out of range", o.c.Provider, d.Index)
		}
		v := make([]float32, len(d.Embedding))
		for i, x := range d.Embedding {
			v[i] = float32(x)
		}
		out[d.Index] = v
	}
	for i, v := range out {
		if v == nil {
			return nil, fmt.Errorf("%s embeddings: no vector for input %d", o.c.Provider, i)
		}
	}
	return out, nil
}
