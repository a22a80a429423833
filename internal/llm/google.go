package llm

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/genai"
)

func googleClient(c Config) (*genai.Client, error) {
	attempts := int32(c.retries() + 1) //nolint:gosec // G115: a handful of retries
	timeout := c.timeout()
	opts := genai.HTTPOptions{BaseURL: c.BaseURL, Timeout: &timeout,
		RetryOptions: &genai.HTTPRetryOptions{Attempts: &attempts, HTTPStatusCodes: []int32{408, 429, 500, 502, 503, 504}}}
	cl, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: c.APIKey, Backend: genai.BackendGeminiAPI,
		HTTPClient: c.httpClient(), HTTPOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("%w: google: %v", ErrConfig, err) //nolint:errorlint // the SDK's error is told, not wrapped
	}
	return cl, nil
}

type googleChat struct {
	c      Config
	client *genai.Client
}

func newGoogleChat(c Config) (*googleChat, error) {
	cl, err := googleClient(c)
	if err != nil {
		return nil, err
	}
	return &googleChat{c: c, client: cl}, nil
}

func (g *googleChat) Provider() string { return Google }
func (g *googleChat) Model() string    { return g.c.Model }

func (g *googleChat) Chat(ctx context.Context, req ChatRequest, onDelta func(string)) (ChatResponse, error) {
	var contents []*genai.Content
	for _, m := range req.Messages {
		role := genai.Role(genai.RoleUser)
		if m.Role == "assistant" {
			role = genai.RoleModel
		}
		contents = append(contents, genai.NewContentFromText(m.Content, role))
	}
	cfg := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(req.System, genai.RoleUser),
		MaxOutputTokens: int32(maxTokens(req.MaxTokens))} //nolint:gosec // G115: maxTokens bounds it far below 2^31
	var out ChatResponse
	usage := func(r *genai.GenerateContentResponse) {
		if u := r.UsageMetadata; u != nil {
			out.Usage = Usage{InputTokens: int64(u.PromptTokenCount), OutputTokens: int64(u.CandidatesTokenCount)}
		}
	}
	if onDelta == nil {
		res, err := g.client.Models.GenerateContent(ctx, g.c.Model, contents, cfg)
		if err != nil {
			return ChatResponse{}, fmt.Errorf("google chat: %w", err)
		}
		out.Text = res.Text()
		usage(res)
		return out, nil
	}
	var b strings.Builder
	for res, err := range g.client.Models.GenerateContentStream(ctx, g.c.Model, contents, cfg) {
		if err != nil {
			return ChatResponse{}, fmt.Errorf("google chat: %w", err)
		}
		if t := res.Text(); t != "" {
			b.WriteString(t)
			onDelta(t)
		}
		usage(res)
	}
	out.Text = b.String()
	return out, nil
}

type googleEmbedder struct {
	c      Config
	client *genai.Client
}

func newGoogleEmbedder(c Config) (*googleEmbedder, error) {
	cl, err := googleClient(c)
	if err != nil {
		return nil, err
	}
	return &googleEmbedder{c: c, client: cl}, nil
}

func (g *googleEmbedder) Model() string { return g.c.Model }

func (g *googleEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	contents := make([]*genai.Content, len(texts))
	for i, t := range texts {
		contents[i] = genai.NewContentFromText(t, genai.RoleUser)
	}
	res, err := g.client.Models.EmbedContent(ctx, g.c.Model, contents, nil)
	if err != nil {
		return nil, fmt.Errorf("google embeddings: %w", err)
	}
	if len(res.Embeddings) != len(texts) {
		return nil, fmt.Errorf("google embeddings: %d vectors for %d texts", len(res.Embeddings), len(texts))
	}
	out := make([][]float32, len(texts))
	for i, e := range res.Embeddings {
		out[i] = e.Values
	}
	return out, nil
}
