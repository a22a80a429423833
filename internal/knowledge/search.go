package knowledge

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/offloadsecurity/cspm/internal/db"
)

// Retrieval: each ranker (full text; vector similarity when the team has
// an embedding model) proposes its best Candidates chunks, and reciprocal
// rank fusion orders the union: score = sum over rankers of 1/(RRFK + rank).
const (
	Candidates = 50
	RRFK       = 60
	MaxResults = 50
)

// SearchParams ask for passages.
type SearchParams struct {
	Query       string
	DocumentIDs []string
	Tags        []string
	Limit       int
}

// Passage is one chunk found, with where it comes from.
type Passage struct {
	ChunkID      string  `json:"chunk_id"`
	DocumentID   string  `json:"document_id"`
	DocumentName string  `json:"document_name"`
	SectionPath  string  `json:"section_path"`
	Page         int     `json:"page,omitempty"`
	Seq          int     `json:"seq" doc:"The chunk's position in its document, from 0."`
	Text         string  `json:"text"`
	Score        float64 `json:"score" doc:"Reciprocal-rank fusion score."`
	TextRank     int     `json:"text_rank,omitempty" doc:"Rank in the full-text results, from 1; 0: not among them."`
	VectorRank   int     `json:"vector_rank,omitempty" doc:"Rank by vector similarity, from 1; 0: not among them."`
}

// stopWords are dropped from full-text queries: questions are asked in
// sentences, and "what does our policy say" should not match every chunk.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by can do does for from has have how i if in is it its
		of on or our should that the their there these this to us was we what when where which who why will with
		you your my me any all about into than then them they those must may shall`) {
		stopWords[w] = true
	}
}

// queryTerms are the words of a query worth searching for: letters and
// digits only (nothing a query syntax could take as an operator), no stop
// words, each once, at most 32.
func queryTerms(q string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if stopWords[w] || slices.Contains(out, w) || len(w) > 64 {
			continue
		}
		out = append(out, w)
		if len(out) == 32 {
			break
		}
	}
	return out
}

// filter adds the document and tag filters on chunks aliased c.
func filter(w *db.Where, p SearchParams) {
	w.In("c.document_id", p.DocumentIDs)
	if len(p.Tags) > 0 {
		tags := make([]string, len(p.Tags))
		for i, t := range p.Tags {
			tags[i] = strings.ToLower(strings.TrimSpace(t))
		}
		cond := "c.document_id IN (SELECT document_id FROM kb_document_tags WHERE team_id = $1 AND tag IN (" +
			db.InList(len(tags), len(w.Args)+1) + "))"
		w.Conds = append(w.Conds, cond)
		for _, t := range tags {
			w.Args = append(w.Args, t)
		}
	}
}

// textRanked returns chunk IDs by full-text relevance: FTS5's bm25 on
// SQLite (section path weighted double), ts_rank_cd over the tsvector
// column (GIN-indexed) on PostgreSQL. Terms are ORed: a chunk that holds
// more of them, and rarer ones, ranks higher.
func (s *Service) textRanked(ctx context.Context, q db.Querier, teamID string, p SearchParams) ([]string, error) {
	terms := queryTerms(p.Query)
	if len(terms) == 0 {
		return nil, nil
	}
	w := &db.Where{}
	w.Add("c.team_id = %s", teamID)
	var query string
	if s.d.Dialect == db.Postgres {
		w.Add("c.tsv @@ to_tsquery('english', %s)", strings.Join(terms, " | "))
		filter(w, p)
		query = `SELECT c.id FROM kb_chunks c WHERE ` + w.SQL() +
			` ORDER BY ts_rank_cd(c.tsv, to_tsquery('english', $2)) DESC, c.id LIMIT ` + fmt.Sprint(Candidates)
	} else {
		quoted := make([]string, len(terms))
		for i, t := range terms {
			quoted[i] = `"` + t + `"`
		}
		w.Add("kb_chunks_fts MATCH %s", strings.Join(quoted, " OR "))
		filter(w, p)
		// CROSS JOIN keeps SQLite from starting at the team index and
		// probing the full-text index once per chunk of the team.
		query = `SELECT c.id FROM kb_chunks_fts CROSS JOIN kb_chunks c ON c.rowid = kb_chunks_fts.rowid WHERE ` + w.SQL() +
			` ORDER BY bm25(kb_chunks_fts, 2.0, 1.0), c.id LIMIT ` + fmt.Sprint(Candidates)
	}
	return db.QueryStrings(ctx, q, query, w.Args...)
}

// vectorRanked returns chunk IDs by cosine similarity to the query's
// vector, over the team's vectors of the current model (a scan: vectors
// are normalized, so the dot product is the cosine).
func (s *Service) vectorRanked(ctx context.Context, q db.Querier, teamID, model string, qv []float32, p SearchParams) ([]string, error) {
	w := &db.Where{}
	w.Add("e.team_id = %s", teamID)
	w.Add("e.model = %s", model)
	w.Add("c.team_id = %s", teamID)
	filter(w, p)
	rows, err := q.QueryContext(ctx, `SELECT e.chunk_id, e.vector FROM kb_embeddings e JOIN kb_chunks c ON c.id = e.chunk_id
		WHERE `+w.SQL(), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type hit struct {
		id    string
		score float32
	}
	var hits []hit
	for rows.Next() {
		var (
			cid string
			raw []byte
		)
		if err := rows.Scan(&cid, &raw); err != nil {
			return nil, err
		}
		v, err := decodeVector(raw)
		if err != nil || len(v) != len(qv) {
			continue // another dimension: an old model's vector not yet replaced
		}
		var dot float32
		for i := range v {
			dot += v[i] * qv[i]
		}
		if dot >= s.minSim {
			hits = append(hits, hit{cid, dot})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].id < hits[j].id
	})
	out := make([]string, 0, min(len(hits), Candidates))
	for i := 0; i < len(hits) && i < Candidates; i++ {
		out = append(out, hits[i].id)
	}
	return out, nil
}

// Search returns the team's passages for a query, best first. Without an
// embedding model, or when the provider fails, full text alone ranks them.
func (s *Service) Search(ctx context.Context, teamID string, p SearchParams) ([]Passage, error) {
	p.Query = strings.TrimSpace(p.Query)
	if p.Query == "" {
		return nil, fmt.Errorf("%w: the query is empty", ErrInvalid)
	}
	if len(p.Query) > 2000 {
		return nil, fmt.Errorf("%w: the query is longer than 2000 characters", ErrInvalid)
	}
	if p.Limit <= 0 || p.Limit > MaxResults {
		p.Limit = 10
	}
	var qv []float32
	emb, model, err := s.embedder(ctx, teamID)
	if err != nil {
		s.logger.Warn("knowledge base: embedding provider unavailable; full text only", "team_id", teamID, "err", err)
	} else if emb != nil {
		vecs, err := s.embed(ctx, emb, model, []string{p.Query})
		if err != nil || len(vecs) != 1 {
			s.logger.Warn("knowledge base: query embedding failed; full text only", "team_id", teamID, "err", err)
		} else {
			qv = normalize(vecs[0])
		}
	}
	var out []Passage
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		text, err := s.textRanked(ctx, q, teamID, p)
		if err != nil {
			return fmt.Errorf("full-text search: %w", err)
		}
		var vec []string
		if qv != nil {
			if vec, err = s.vectorRanked(ctx, q, teamID, model, qv, p); err != nil {
				return fmt.Errorf("vector search: %w", err)
			}
		}
		fused := fuse(text, vec)
		if len(fused) > p.Limit {
			fused = fused[:p.Limit]
		}
		out, err = s.passages(ctx, q, teamID, fused)
		return err
	})
	return out, err
}

// fuse orders the union of ranked lists by reciprocal rank fusion.
func fuse(text, vec []string) []Passage {
	by := map[string]*Passage{}
	var order []*Passage
	get := func(id string) *Passage {
		if p, ok := by[id]; ok {
			return p
		}
		p := &Passage{ChunkID: id}
		by[id] = p
		order = append(order, p)
		return p
	}
	for i, id := range text {
		p := get(id)
		p.TextRank, p.Score = i+1, p.Score+1/float64(RRFK+i+1)
	}
	for i, id := range vec {
		p := get(id)
		p.VectorRank, p.Score = i+1, p.Score+1/float64(RRFK+i+1)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Score > order[j].Score })
	out := make([]Passage, len(order))
	for i, p := range order {
		out[i] = *p
	}
	return out
}

// passages fills in the chunks' text and documents, keeping the order.
func (s *Service) passages(ctx context.Context, q db.Querier, teamID string, ranked []Passage) ([]Passage, error) {
	if len(ranked) == 0 {
		return []Passage{}, nil
	}
	w := &db.Where{}
	w.Add("c.team_id = %s", teamID)
	ids := make([]string, len(ranked))
	for i, p := range ranked {
		ids[i] = p.ChunkID
	}
	w.In("c.id", ids)
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.document_id, d.name, c.section_path, c.page, c.seq, c.text
		FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id AND d.team_id = c.team_id WHERE `+w.SQL(), w.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := map[string]Passage{}
	for rows.Next() {
		var p Passage
		if err := rows.Scan(&p.ChunkID, &p.DocumentID, &p.DocumentName, &p.SectionPath, &p.Page, &p.Seq, &p.Text); err != nil {
			return nil, err
		}
		found[p.ChunkID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Passage, 0, len(ranked))
	for _, r := range ranked {
		p, ok := found[r.ChunkID]
		if !ok {
			continue
		}
		p.Score, p.TextRank, p.VectorRank = r.Score, r.TextRank, r.VectorRank
		out = append(out, p)
	}
	return out, nil
}

// ChunkGet returns one chunk of the team as a passage (a citation's target).
func (s *Service) ChunkGet(ctx context.Context, teamID, chunkID string) (Passage, error) {
	var out []Passage
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		out, err = s.passages(ctx, q, teamID, []Passage{{ChunkID: chunkID}})
		return err
	})
	if err == nil && len(out) == 0 {
		err = db.ErrNotFound
	}
	if err != nil {
		return Passage{}, err
	}
	return out[0], nil
}
