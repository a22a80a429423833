// Command knowledge measures the knowledge base (issue 18): it generates D
// Markdown policies of S sections each (one chunk per section, about 600
// characters of words drawn from a 5,000-word vocabulary with a Zipf
// distribution), ingests them through the real upload and processing path
// (DocumentUpload, then ProcessDocument as the River job runs it; no
// provider, so provider latency is excluded), and times Search for Q
// queries of 2 to 5 words: full text alone, then hybrid with a local
// deterministic embedder (a hashed bag of words, 256 dimensions) after
// every chunk is embedded.
//
//	go run ./bench/knowledge -docs 2000 -sections 50            # 100,000 chunks on SQLite
//	go run ./bench/knowledge -docs 2000 -sections 50 -pg postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// -keep DIR (SQLite) or -keep PREFIX (PostgreSQL schemas) keeps the corpus
// and reuses it on the next run, which then skips ingestion: profiling
// search (-cpuprofile) should not cost two minutes of loading each time.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
	"github.com/offloadsecurity/cspm/internal/knowledge"
	"github.com/offloadsecurity/cspm/internal/llm"
	"github.com/offloadsecurity/cspm/internal/secrets"
)

func main() {
	docs := flag.Int("docs", 2000, "documents")
	sections := flag.Int("sections", 50, "sections (chunks) per document")
	queries := flag.Int("queries", 200, "full-text queries")
	hybridQueries := flag.Int("hybrid-queries", 20, "hybrid queries")
	pg := flag.String("pg", "", "PostgreSQL URL (default: SQLite in a temporary directory)")
	flag.StringVar(&keep, "keep", "", "keep the corpus here (SQLite: a directory; PostgreSQL: a schema prefix) and reuse it")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the searches to this file")
	flag.Parse()
	if err := run(*docs, *sections, *queries, *hybridQueries, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "knowledge bench:", err)
		os.Exit(1)
	}
}

var keep, cpuProfile string

type hashEmbedder struct{}

func (hashEmbedder) Model() string { return "hash" }
func (hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 256)
		for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			s := sha256.Sum256([]byte(w))
			v[binary.LittleEndian.Uint32(s[:4])%256]++
		}
		out[i] = v
	}
	return out, nil
}

func run(docs, sections, queries, hybridQueries int, pg string) error {
	ctx := context.Background()
	dir := keep
	if dir == "" || pg != "" {
		var err error
		if dir, err = os.MkdirTemp("", "kb-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	opts := db.Options{DataDir: dir, URLs: map[db.Name]string{}}
	engine := "sqlite"
	if pg != "" {
		engine = "postgres"
		for _, name := range db.Names {
			opts.URLs[name] = pg
		}
		opts.SchemaPrefix = "bench_" + strings.ReplaceAll(id.New()[:8], "-", "") + "_"
		if keep != "" {
			opts.SchemaPrefix = keep
		}
	}
	reg, err := db.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer reg.Close()
	if _, err := app.Migrate(ctx, reg, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	if pg != "" && keep == "" {
		defer func() {
			for _, name := range db.Names {
				if d := reg.Get(name); d.Schema != "" {
					_, _ = d.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+d.Schema+" CASCADE")
				}
			}
		}()
	}
	box, _ := secrets.NewBox(make([]byte, 32))
	svc := knowledge.New(reg, knowledge.Options{Box: box, MaxBytes: 20 << 20,
		Embedder: func(llm.Config) (llm.Embedder, error) { return hashEmbedder{}, nil }})
	const teamID = "bench-team"

	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: a reproducible corpus, not a secret
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%s%d", string(rune('a'+i%26)), i)
	}
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(vocab)-1)) //nolint:gosec // G115: a positive length
	words := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[zipf.Uint64()]
		}
		return strings.Join(ws, " ")
	}
	fmt.Printf("engine %s, %d documents x %d sections = %d chunks\n", engine, docs, sections, docs*sections)
	have, err := svc.DocumentList(ctx, teamID, knowledge.DocumentListParams{})
	if err != nil {
		return err
	}
	if len(have) > 0 && len(have) != docs {
		return fmt.Errorf("the kept corpus has %d documents, not %d", len(have), docs)
	}
	start := time.Now()
	var bytes int
	for d := 0; d < docs && len(have) == 0; d++ {
		var b strings.Builder
		fmt.Fprintf(&b, "# Policy %d\n\n", d)
		for s := 0; s < sections; s++ {
			fmt.Fprintf(&b, "## %d.%d %s\n\n%s.\n\n", d, s, words(3), words(90))
		}
		bytes += b.Len()
		res, err := svc.DocumentUpload(ctx, teamID, knowledge.UploadParams{Name: fmt.Sprintf("policy-%05d.md", d),
			Body: strings.NewReader(b.String()), Actor: audit.Event{}})
		if err != nil {
			return err
		}
		if err := svc.ProcessDocument(ctx, teamID, res.Document.ID, res.Document.Version); err != nil {
			return err
		}
	}
	took := time.Since(start)
	if len(have) > 0 {
		// The same generator, so the queries below draw from the same stream.
		for d := 0; d < docs*sections; d++ {
			words(3)
			words(90)
		}
	} else {
		fmt.Printf("ingest: %d documents (%.1f MB) in %s: %.0f documents/minute, %.0f chunks/s\n", docs, float64(bytes)/1e6,
			took.Round(time.Millisecond), float64(docs)/took.Minutes(), float64(docs*sections)/took.Seconds())
	}

	if pg != "" {
		// What autovacuum does a minute after a load; the test server runs
		// with it off, and without statistics the planner ANDs the team
		// index's 100,000 rows into every full-text match.
		if _, err := reg.Get(db.KnowledgeBase).ExecContext(ctx, "ANALYZE"); err != nil {
			return err
		}
	}

	// Queries name words past the 100 most common: those play the part of
	// the stop words a real query loses (knowledge.queryTerms drops them).
	query := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[100+rng.IntN(len(vocab)-100)]
		}
		return strings.Join(ws, " ")
	}
	measure := func(label string, n int) error {
		if cpuProfile != "" {
			f, err := os.Create(cpuProfile + "." + label)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		// The first query warms what a server keeps warm (caches, the
		// connection pool, the team's vectors in memory) and is not counted.
		t0 := time.Now()
		if _, err := svc.Search(ctx, teamID, knowledge.SearchParams{Query: query(3), Limit: 10}); err != nil {
			return err
		}
		fmt.Printf("%s search, first query (not counted): %s\n", label, time.Since(t0).Round(10*time.Microsecond))
		var lat []time.Duration
		found := 0
		for i := 0; i < n; i++ {
			q := query(2 + rng.IntN(4))
			t0 := time.Now()
			got, err := svc.Search(ctx, teamID, knowledge.SearchParams{Query: q, Limit: 10})
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(t0))
			if len(got) > 0 {
				found++
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) time.Duration {
			return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(10 * time.Microsecond)
		}
		fmt.Printf("%s search, %d queries (%d with results): p50 %s, p95 %s, p99 %s, max %s\n", label, n, found,
			pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1].Round(10*time.Microsecond))
		return nil
	}
	// A kept corpus has its embedding model set: full text alone first.
	if _, err := svc.SettingsSet(ctx, teamID, knowledge.ProviderSettingsUpdate{}, audit.Event{}); err != nil {
		return err
	}
	if err := measure("full-text", queries); err != nil {
		return err
	}
	if hybridQueries == 0 {
		return nil
	}
	if _, err := svc.SettingsSet(ctx, teamID, knowledge.ProviderSettingsUpdate{EmbedProvider: llm.Compatible, EmbedModel: "hash",
		EmbedBaseURL: "http://127.0.0.1:1/v1"}, audit.Event{}); err != nil {
		return err
	}
	t0 := time.Now()
	n, err := svc.EmbedPending(ctx, teamID) // nothing to do on a kept corpus embedded before
	if err != nil {
		return err
	}
	fmt.Printf("embedded %d chunks in %s (local embedder)\n", n, time.Since(t0).Round(time.Millisecond))
	return measure("hybrid", hybridQueries)
}
