package knowledge

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/db/dbtest"
	"github.com/offloadsecurity/cspm/internal/queue"
)

func setEmbedding(t *testing.T, b *bundle, teamID string) {
	t.Helper()
	if _, err := b.s.SettingsSet(context.Background(), teamID, ProviderSettingsUpdate{EmbedProvider: "openai_compatible",
		EmbedModel: "hash", EmbedBaseURL: "http://127.0.0.1:1/v1"}, admin); err != nil {
		t.Fatal(err)
	}
}

// vectorHits are the passages the vector ranker proposed.
func vectorHits(t *testing.T, b *bundle, teamID, query string) []Passage {
	t.Helper()
	got, err := b.s.Search(context.Background(), teamID, SearchParams{Query: query, Limit: MaxResults})
	if err != nil {
		t.Fatal(err)
	}
	var out []Passage
	for _, p := range got {
		if p.VectorRank > 0 {
			out = append(out, p)
		}
	}
	return out
}

// The in-memory vector index follows uploads, new versions and deletes at
// once, and reloads only the documents that changed.
func TestVectorIndexFollowsChanges(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		ctx := context.Background()
		b := setup(t, reg)
		setEmbedding(t, b, teamA)
		access := b.upload(t, teamA, "access.md", accessPolicy)
		if len(vectorHits(t, b, teamA, "hardware security keys for contractors")) == 0 {
			t.Fatal("no vector hit in the first document")
		}
		key := vecKey(teamA, "openai_compatible:hash")
		b.s.vecs.mu.Lock()
		before := b.s.vecs.teams[key].docs[access.ID]
		b.s.vecs.mu.Unlock()

		incident := b.upload(t, teamA, "incident.md", incidentPolicy)
		hits := vectorHits(t, b, teamA, "severity one incidents page the on-call engineer")
		if len(hits) == 0 || hits[0].DocumentID != incident.ID {
			t.Fatalf("the new document is not the best vector hit: %+v", hits)
		}
		b.s.vecs.mu.Lock()
		after := b.s.vecs.teams[key].docs[access.ID]
		b.s.vecs.mu.Unlock()
		if before == nil || before != after {
			t.Fatal("an upload of another document reloaded the vectors of one that did not change")
		}

		// A new version replaces the chunks: the old chunk IDs are gone.
		old := map[string]bool{}
		for _, p := range vectorHits(t, b, teamA, "severity incidents reported") {
			if p.DocumentID == incident.ID {
				old[p.ChunkID] = true
			}
		}
		if len(old) == 0 {
			t.Fatal("no vector hit in the document before its new version")
		}
		b.upload(t, teamA, "incident.md", incidentPolicy+"\n## 3 Review\n\nEvery severity one incident gets a written review.\n")
		for _, p := range vectorHits(t, b, teamA, "severity incidents reported") {
			if old[p.ChunkID] {
				t.Fatalf("a chunk of the replaced version was found: %+v", p)
			}
		}

		if err := b.s.DocumentDelete(ctx, teamA, access.ID, admin); err != nil {
			t.Fatal(err)
		}
		for _, p := range vectorHits(t, b, teamA, "hardware security keys for contractors") {
			if p.DocumentID == access.ID {
				t.Fatalf("a deleted document's chunk was found: %+v", p)
			}
		}
	})
}

// Team tokens in the SQLite full-text index name a team exactly: a team
// whose ID begins with another's sees only its own chunks.
func TestSearchTeamsWithPrefixIDsDoNotMix(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		const short, long = "acme", "acme-eu"
		mine := b.upload(t, short, "access.md", accessPolicy)
		b.upload(t, long, "access.md", accessPolicy)
		for _, team := range []string{short, long} {
			setEmbedding(t, b, team)
			if _, err := b.s.EmbedPending(context.Background(), team); err != nil {
				t.Fatal(err)
			}
		}
		got, err := b.s.Search(context.Background(), short, SearchParams{Query: "contractors hardware keys MFA", Limit: MaxResults})
		if err != nil || len(got) == 0 {
			t.Fatalf("search: %v, %d passages", err, len(got))
		}
		for _, p := range got {
			if p.DocumentID != mine.ID {
				t.Fatalf("team %s found another team's passage %+v", short, p)
			}
		}
	})
}

// A filter wider than the documents the SQLite full-text query names
// (maxFTSDocs) is checked after ranking, and still finds only what it allows.
func TestSearchWideTagFilter(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, reg *db.Registry) {
		b := setup(t, reg)
		other := b.upload(t, teamA, "access.md", accessPolicy)
		for i := 0; i <= maxFTSDocs; i++ {
			b.upload(t, teamA, fmt.Sprintf("bulk-%03d.md", i), fmt.Sprintf("# Bulk %d\n\n## Keys\n\nHardware keys for batch %d.\n", i, i), "bulk")
		}
		got, err := b.s.Search(context.Background(), teamA, SearchParams{Query: "hardware keys contractors", Tags: []string{"bulk"}, Limit: MaxResults})
		if err != nil || len(got) == 0 {
			t.Fatalf("search: %v, %d passages", err, len(got))
		}
		for _, p := range got {
			if p.DocumentID == other.ID || !strings.HasPrefix(p.DocumentName, "bulk-") {
				t.Fatalf("the tag filter let through %+v", p)
			}
		}
	})
}

// On PostgreSQL with an ordinary owner role (bound by the policies, FORCE),
// kb_text_search cannot bypass row-level security: it still answers, and
// only with the team's own chunks.
func TestSearchAsOrdinaryOwner(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			reg, _ := dbtest.OpenUnmigrated(t, dbtest.AsOwner(t, e))
			ctx := context.Background()
			if _, err := reg.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := queue.Migrate(ctx, reg, nil); err != nil {
				t.Fatal(err)
			}
			b := setup(t, reg)
			mine := b.upload(t, teamA, "access.md", accessPolicy)
			b.upload(t, teamB, "access.md", accessPolicy)
			got := mustSearch(t, b, SearchParams{Query: "contractors hardware keys"})
			for _, p := range got {
				if p.DocumentID != mine.ID {
					t.Fatalf("another team's passage: %+v", p)
				}
			}
		})
	}
}

// A knowledge base of the first release keeps answering after the search
// index migration (SQLite rebuilds its full-text index from the chunks).
func TestSearchAfterUpgradeFromFirstRelease(t *testing.T) {
	t.Parallel()
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg, _ := dbtest.OpenUnmigrated(t, dbtest.AsOwner(t, e))
			d := reg.Get(db.KnowledgeBase)
			if _, err := d.MigrateTo(ctx, 1); err != nil {
				t.Fatal(err)
			}
			err := d.InTeam(ctx, teamA, func(q db.Querier) error {
				if _, err := q.ExecContext(ctx, `INSERT INTO kb_documents (id, team_id, name, content_type, sha256, size_bytes, version,
					status, source, created_at, updated_at) VALUES ('d1', $1, 'old.md', 'markdown', 'x', 1, 1, 'ready', $2, $3, $3)`,
					teamA, []byte("old"), time.Now().UTC()); err != nil {
					return err
				}
				_, err := q.ExecContext(ctx, `INSERT INTO kb_chunks (id, team_id, document_id, seq, section_path, text)
					VALUES ('c1', $1, 'd1', 0, 'Old Policy > Keys', 'Contractors use hardware keys.')`, teamA)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := queue.Migrate(ctx, reg, nil); err != nil {
				t.Fatal(err)
			}
			b := setup(t, reg)
			got := mustSearch(t, b, SearchParams{Query: "contractors hardware keys"})
			if got[0].ChunkID != "c1" {
				t.Fatalf("after the upgrade: %+v", got)
			}
			// And the rebuilt index forgets a chunk that is deleted.
			if err := b.s.DocumentDelete(ctx, teamA, "d1", admin); err != nil {
				t.Fatal(err)
			}
			if got, err := b.s.Search(ctx, teamA, SearchParams{Query: "contractors hardware keys"}); err != nil || len(got) != 0 {
				t.Fatalf("after delete: %v, %+v", err, got)
			}
		})
	}
}

func TestTopKeepsTheBestInOrder(t *testing.T) {
	t.Parallel()
	idx := &vecIndex{dims: 2, docs: map[string]*docVectors{
		"d1": {ids: []string{"a", "b", "c"}, vecs: []float32{1, 0, 0.6, 0.8, 0, 1}},
		"d2": {ids: []string{"d", "e"}, vecs: []float32{0.8, 0.6, -1, 0}},
	}}
	got := idx.top([]float32{1, 0}, 3, 0.1, nil)
	var ids []string
	for _, h := range got {
		ids = append(ids, h.id)
	}
	if strings.Join(ids, ",") != "a,d,b" {
		t.Fatalf("top 3: %v", got)
	}
	if got := idx.top([]float32{1, 0}, 5, 0.1, map[string]bool{"d2": true}); len(got) != 1 || got[0].id != "d" {
		t.Fatalf("filtered: %v", got)
	}
}
