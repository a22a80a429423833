// Package llm talks to the language-model providers the knowledge base
// uses: chat (the seed's LlmChat) over OpenAI, Anthropic and Google through
// their official Go SDKs, and embeddings over OpenAI's API (which Ollama,
// vLLM and other OpenAI-compatible servers speak too) and Google's. Every
// client takes a base URL, so a team can point it at a local model and
// tests at a local server speaking the provider's wire format.
package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Providers a team may configure.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Google    = "google"
	// Compatible is any server speaking OpenAI's API at a base URL (Ollama,
	// vLLM, LM Studio, a gateway). Its key may be empty.
	Compatible = "openai_compatible"
)

// ChatProviders and EmbeddingProviders list what each role accepts.
var (
	ChatProviders      = []string{OpenAI, Anthropic, Google, Compatible}
	EmbeddingProviders = []string{OpenAI, Google, Compatible}
)

// Config selects one provider and model.
type Config struct {
	Provider string
	Model    string
	BaseURL  string
	APIKey   string
	// HTTPClient, when set, carries every request (tests, proxies).
	HTTPClient *http.Client
	// MaxRetries on rate limits (429) and server errors, with exponential
	// backoff that honours Retry-After; default 3.
	MaxRetries int
	// Timeout of one request; default 2 minutes.
	Timeout time.Duration
}

// ErrConfig means a provider configuration cannot work.
var ErrConfig = errors.New("invalid provider configuration")

// Validate checks the configuration for role "chat" or "embedding".
func (c Config) Validate(role string) error {
	allowed := ChatProviders
	if role == "embedding" {
		allowed = EmbeddingProviders
	}
	ok := false
	for _, p := range allowed {
		ok = ok || p == c.Provider
	}
	if !ok {
		return fmt.Errorf("%w: %s provider must be one of %s", ErrConfig, role, strings.Join(allowed, ", "))
	}
	if strings.TrimSpace(c.Model) == "" {
		return fmt.Errorf("%w: a %s model is required", ErrConfig, role)
	}
	if c.Provider == Compatible && c.BaseURL == "" {
		return fmt.Errorf("%w: an OpenAI-compatible provider needs a base URL", ErrConfig)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: base URL must be an http or https URL", ErrConfig)
		}
	}
	if c.Provider != Compatible && c.APIKey == "" {
		return fmt.Errorf("%w: %s needs an API key", ErrConfig, c.Provider)
	}
	return nil
}

func (c Config) retries() int {
	if c.MaxRetries <= 0 {
		return 3
	}
	return c.MaxRetries
}

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 2 * time.Minute
	}
	return c.Timeout
}

func (c Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: c.timeout()}
}

// Message is one turn of a conversation.
type Message struct {
	Role    string // "user" or "assistant"
	Content string
}

// ChatRequest is a system prompt and the conversation.
type ChatRequest struct {
	System    string
	Messages  []Message
	MaxTokens int
}

// Usage counts tokens as the provider reported them.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// ChatResponse is the whole answer.
type ChatResponse struct {
	Text  string
	Usage Usage
}

// Chat is the seed's LlmChat: one provider's chat completions. onDelta,
// when not nil, receives the answer as it streams.
type Chat interface {
	Chat(ctx context.Context, req ChatRequest, onDelta func(string)) (ChatResponse, error)
	Provider() string
	Model() string
}

// Embedder turns texts into vectors, one per text, in order.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Model() string
}

// NewChat returns the chat client of c.Provider.
func NewChat(c Config) (Chat, error) {
	if err := c.Validate("chat"); err != nil {
		return nil, err
	}
	switch c.Provider {
	case Anthropic:
		return newAnthropic(c), nil
	case Google:
		return newGoogleChat(c)
	default:
		return newOpenAIChat(c), nil
	}
}

// NewEmbedder returns the embedding client of c.Provider.
func NewEmbedder(c Config) (Embedder, error) {
	if err := c.Validate("embedding"); err != nil {
		return nil, err
	}
	if c.Provider == Google {
		return newGoogleEmbedder(c)
	}
	return newOpenAIEmbedder(c), nil
}

const defaultMaxTokens = 1024

func maxTokens(n int) int {
	if n <= 0 {
		return defaultMaxTokens
	}
	return n
}

// EmbedBatched embeds texts in batches of size, in order.
func EmbedBatched(ctx context.Context, e Embedder, texts []string, size int) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += size {
		end := min(start+size, len(texts))
		vecs, err := e.Embed(ctx, texts[start:end])
		if err != nil {
			return nil, err
		}
		if len(vecs) != end-start {
			return nil, fmt.Errorf("embedding: %d vectors for %d texts", len(vecs), end-start)
		}
		out = append(out, vecs...)
	}
	return out, nil
}
