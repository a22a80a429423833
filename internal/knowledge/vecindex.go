package knowledge

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/offloadsecurity/cspm/internal/db"
)

// The vector ranker scores a query against every vector of the team: no
// vector index exists for PostgreSQL here (no pgvector) nor for SQLite, and
// at 100,000 chunks a scan in memory takes milliseconds where reading the
// vectors from the database took over a second per query. So each process
// keeps, per team and model, the team's vectors decoded and normalized in
// memory, grouped by document.
//
// Freshness: every transaction that changes a team's chunks or vectors
// bumps kb_data_versions (one row per team) and the vectors_gen of each
// document it touched. A search reads the team's version (one row); when
// it moved, it reads every document's vectors_gen and reloads only the
// documents whose generation changed, so an upload or an embedding batch
// costs the next search a few documents' vectors, not the whole library.
// The version is read before the documents, so a change that lands in
// between is seen again by the next search, never lost.

// vecCacheTeams bounds how many teams' vectors a process keeps: 100,000
// chunks of 768 dimensions are about 300 MB. The least recently searched
// team goes first.
const vecCacheTeams = 8

// docVectors are one document's vectors at one generation. Immutable once
// built: indexes of successive versions share them.
type docVectors struct {
	gen  int64
	ids  []string  // chunk IDs
	vecs []float32 // len(ids) x dims, each normalized
}

// vecIndex is a team's vectors of one model at one data version. Immutable.
type vecIndex struct {
	version int64
	dims    int
	docs    map[string]*docVectors
	used    int64 // last search, for eviction (under vecCache.mu)
}

type vecCache struct {
	mu     sync.Mutex
	teams  map[string]*vecIndex // key: team ID + "\x00" + model
	tick   int64
	flight singleflight.Group
}

func vecKey(teamID, model string) string { return teamID + "\x00" + model }

// dataVersion reads the team's version of its chunks and vectors.
func dataVersion(ctx context.Context, q db.Querier, teamID string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM kb_data_versions WHERE team_id = $1`, teamID).Scan(&v)
	return v, err
}

// bumpVersion records, in the writer's transaction, that the team's chunks
// or vectors changed, and that those of the documents named did.
func bumpVersion(ctx context.Context, q db.Querier, teamID string, docIDs ...string) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO kb_data_versions (team_id, version) VALUES ($1, 1)
		ON CONFLICT (team_id) DO UPDATE SET version = kb_data_versions.version + 1`, teamID); err != nil {
		return err
	}
	if len(docIDs) == 0 {
		return nil
	}
	w := &db.Where{}
	w.Add("team_id = %s", teamID)
	w.In("id", docIDs)
	_, err := q.ExecContext(ctx, `UPDATE kb_documents SET vectors_gen = vectors_gen + 1 WHERE `+w.SQL(), w.Args...)
	return err
}

// index returns the team's vectors of model as of now, loading what
// changed since the index this process holds.
func (c *vecCache) index(ctx context.Context, q db.Querier, dialect db.Dialect, teamID, model string) (*vecIndex, error) {
	version, err := dataVersion(ctx, q, teamID)
	if err != nil {
		return nil, err
	}
	key := vecKey(teamID, model)
	c.mu.Lock()
	old := c.teams[key]
	if old != nil && old.version == version {
		c.tick++
		old.used = c.tick
		c.mu.Unlock()
		return old, nil
	}
	c.mu.Unlock()
	// One refresh per team and version at a time; concurrent searches wait
	// for it rather than each reading the same vectors.
	r, err, _ := c.flight.Do(fmt.Sprintf("%s\x00%d", key, version), func() (any, error) {
		idx, err := refreshIndex(ctx, q, dialect, teamID, model, version, old)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.teams == nil {
			c.teams = map[string]*vecIndex{}
		}
		if cur := c.teams[key]; cur == nil || cur.version < idx.version {
			c.teams[key] = idx
		}
		c.tick++
		idx.used = c.tick
		for len(c.teams) > vecCacheTeams {
			var lru string
			for k, v := range c.teams {
				if lru == "" || v.used < c.teams[lru].used {
					lru = k
				}
			}
			delete(c.teams, lru)
		}
		return idx, nil
	})
	if err != nil {
		return nil, err
	}
	return r.(*vecIndex), nil
}

// refreshIndex builds the index at version from old (nil: from nothing),
// reading the vectors of the documents whose generation differs.
func refreshIndex(ctx context.Context, q db.Querier, dialect db.Dialect, teamID, model string, version int64, old *vecIndex) (*vecIndex, error) {
	gens := map[string]int64{}
	rows, err := q.QueryContext(ctx, `SELECT id, vectors_gen FROM kb_documents WHERE team_id = $1`, teamID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id  string
			gen int64
		)
		if err := rows.Scan(&id, &gen); err != nil {
			rows.Close()
			return nil, err
		}
		gens[id] = gen
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	idx := &vecIndex{version: version, docs: make(map[string]*docVectors, len(gens))}
	var stale []string
	for id, gen := range gens {
		if old != nil {
			if dv, ok := old.docs[id]; ok && dv.gen == gen {
				idx.docs[id] = dv
				continue
			}
		}
		stale = append(stale, id)
	}
	if old != nil {
		idx.dims = old.dims
	}
	// Every document at once when most changed (the first load): one scan
	// of the team's vectors instead of a query per document.
	all := old == nil || len(stale) > len(gens)/2
	load := func(docIDs []string) error {
		w := &db.Where{}
		if all {
			w.Add("e.team_id = %s", teamID)
			w.Add("e.model = %s", model)
			w.Add("c.team_id = %s", teamID)
		} else {
			// The documents' chunks lead, not the team's every vector.
			w.Add(db.NotIndexed(dialect, "e.team_id")+" = %s", teamID)
			w.Add("e.model = %s", model)
			w.Add(db.NotIndexed(dialect, "c.team_id")+" = %s", teamID)
			w.In("c.document_id", docIDs)
		}
		rows, err := q.QueryContext(ctx, `SELECT c.document_id, e.chunk_id, e.vector FROM kb_embeddings e
			JOIN kb_chunks c ON c.id = e.chunk_id WHERE `+w.SQL(), w.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				docID, chunkID string
				raw            []byte
			)
			if err := rows.Scan(&docID, &chunkID, &raw); err != nil {
				return err
			}
			if len(raw)%4 != 0 || len(raw) == 0 {
				continue
			}
			if idx.dims == 0 {
				idx.dims = len(raw) / 4
			}
			if len(raw)/4 != idx.dims {
				continue // another dimension: a vector the model change has not replaced yet
			}
			gen, ok := gens[docID]
			if !ok {
				continue // added after the generations were read: the next version loads it
			}
			dv := idx.docs[docID] // stale documents were dropped: this is one being loaded
			if dv == nil {
				dv = &docVectors{gen: gen}
				idx.docs[docID] = dv
			}
			dv.ids = append(dv.ids, chunkID)
			dv.vecs = appendDecoded(dv.vecs, raw)
		}
		return rows.Err()
	}
	if all {
		idx.docs = make(map[string]*docVectors, len(gens))
		if err := load(nil); err != nil {
			return nil, err
		}
	} else {
		for _, id := range stale {
			delete(idx.docs, id)
		}
		for start := 0; start < len(stale); start += 500 {
			if err := load(stale[start:min(start+500, len(stale))]); err != nil {
				return nil, err
			}
		}
	}
	// A document without vectors yet still records its generation, so the
	// next refresh does not read it again.
	for id, gen := range gens {
		if idx.docs[id] == nil {
			idx.docs[id] = &docVectors{gen: gen}
		}
	}
	return idx, nil
}

// appendDecoded decodes a little-endian float32 vector and normalizes it:
// the stored vectors are normalized already, but a norm computed once here
// keeps the dot product a cosine whatever wrote them.
func appendDecoded(dst []float32, raw []byte) []float32 {
	n := len(raw) / 4
	start := len(dst)
	dst = append(dst, make([]float32, n)...)
	v := dst[start:]
	var sum float64
	for i := range v {
		x := math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		v[i] = x
		sum += float64(x) * float64(x)
	}
	if sum > 0 && math.Abs(sum-1) > 1e-4 {
		inv := float32(1 / math.Sqrt(sum))
		for i := range v {
			v[i] *= inv
		}
	}
	return dst
}

// vecHit is one scored chunk.
type vecHit struct {
	id    string
	score float32
}

// hitHeap is a min-heap on score (ties: the larger ID first out), so the
// root is the worst of the best k kept.
type hitHeap []vecHit

func (h hitHeap) Len() int { return len(h) }
func (h hitHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].id > h[j].id
}
func (h hitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)   { *h = append(*h, x.(vecHit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// better reports whether a ranks before b: higher score, then smaller ID.
func better(a, b vecHit) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.id < b.id
}

// top returns the k chunks most similar to qv (normalized) with a score of
// at least minSim, best first, over the documents allowed (nil: all). A
// bounded heap keeps the k best: no slice of every hit, no sort of it.
func (idx *vecIndex) top(qv []float32, k int, minSim float32, allowed map[string]bool) []vecHit {
	if len(qv) != idx.dims || k <= 0 {
		return nil
	}
	h := make(hitHeap, 0, k)
	for docID, dv := range idx.docs {
		if allowed != nil && !allowed[docID] {
			continue
		}
		for i, id := range dv.ids {
			s := dot(dv.vecs[i*idx.dims:(i+1)*idx.dims], qv)
			if s < minSim {
				continue
			}
			hit := vecHit{id, s}
			if len(h) < k {
				heap.Push(&h, hit)
			} else if better(hit, h[0]) {
				h[0] = hit
				heap.Fix(&h, 0)
			}
		}
	}
	out := make([]vecHit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(vecHit)
	}
	return out
}

// dot is the inner product of two vectors of the same length, with four
// accumulators: the compiler does not reorder float additions, and one
// chain of dependent adds leaves most of the core idle.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
