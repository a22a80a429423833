package knowledge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/llm"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

const (
	teamA = "team-a"
	teamB = "team-b"
)

var admin = audit.Event{ActorID: "u1", ActorEmail: "admin@example.com"}

// hashEmbedder is the deterministic local embedder of the tests and the
// retrieval quality set: a bag of words (lower-cased, a crude suffix
// stemmer, stop words dropped) hashed into 256 dimensions.
type hashEmbedder struct {
	model string
	mu    sync.Mutex
	calls int
	texts int
}

const hashDims = 256

func (h *hashEmbedder) Model() string { return h.model }

func (h *hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	h.mu.Lock()
	h.calls++
	h.texts += len(texts)
	h.mu.Unlock()
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = hashVector(t)
	}
	return out, nil
}

func hashVector(t string) []float32 {
	v := make([]float32, hashDims)
	for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if stopWords[w] {
			continue
		}
		for _, suf := range []string{"ing", "es", "s", "ed"} {
			if len(w) > len(suf)+3 {
				if s, ok := strings.CutSuffix(w, suf); ok {
					w = s
					break
				}
			}
		}
		sum := sha256.Sum256([]byte(w))
		v[binary.LittleEndian.Uint32(sum[:4])%hashDims] += 1
	}
	return v
}

// fakeChat records what it was sent and answers with a fixed text.
type fakeChat struct {
	mu     sync.Mutex
	answer string
	reqs   []llm.ChatRequest
}

func (f *fakeChat) Provider() string { return "openai" }
func (f *fakeChat) Model() string    { return "fake-model" }
func (f *fakeChat) Chat(_ context.Context, req llm.ChatRequest, onDelta func(string)) (llm.ChatResponse, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if onDelta != nil {
		onDelta(f.answer)
	}
	return llm.ChatResponse{Text: f.answer, Usage: llm.Usage{InputTokens: 100, OutputTokens: 10}}, nil
}

type bundle struct {
	s     *Service
	reg   *db.Registry
	emb   *hashEmbedder
	chat  *fakeChat
	audit *audit.Log
}

func setup(t *testing.T, reg *db.Registry) *bundle {
	t.Helper()
	box, err := secrets.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{reg: reg, emb: &hashEmbedder{model: "hash"}, chat: &fakeChat{answer: "MFA is required [1]."}, audit: audit.New(reg, nil)}
	b.s = New(reg, Options{Box: box, Audit: b.audit, MaxBytes: 1 << 20, MinSimilarity: 0.1,
		Embedder: func(c llm.Config) (llm.Embedder, error) { b.emb.model = c.Model; return b.emb, nil },
		Chat:     func(llm.Config) (llm.Chat, error) { return b.chat, nil }})
	return b
}

// upload adds a document and processes it as the job would.
func (b *bundle) upload(t *testing.T, teamID, name, body string, tags ...string) Document {
	t.Helper()
	ctx := context.Background()
	res, err := b.s.DocumentUpload(ctx, teamID, UploadParams{Name: name, Body: strings.NewReader(body), Tags: tags, Actor: admin})
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	if res.Changed {
		if err := b.s.ProcessDocument(ctx, teamID, res.Document.ID, res.Document.Version); err != nil {
			t.Fatalf("process %s: %v", name, err)
		}
		if _, err := b.s.EmbedPending(ctx, teamID); err != nil {
			t.Fatalf("embed %s: %v", name, err)
		}
	}
	d, err := b.s.DocumentGet(ctx, teamID, res.Document.ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func strp(s string) *string { return &s }
