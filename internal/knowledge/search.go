package knowledge

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
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

// allowedDocs resolves the document and tag filters to the set of the
// team's documents they allow; nil when there is no filter. Both filters
// given: documents that pass both.
func allowedDocs(ctx context.Context, q db.Querier, teamID string, p SearchParams) (map[string]bool, error) {
	if len(p.DocumentIDs) == 0 && len(p.Tags) == 0 {
		return nil, nil
	}
	w := &db.Where{}
	w.Add("d.team_id = %s", teamID)
	w.In("d.id", p.DocumentIDs)
	if len(p.Tags) > 0 {
		tags := make([]string, len(p.Tags))
		for i, t := range p.Tags {
			tags[i] = strings.ToLower(strings.TrimSpace(t))
		}
		cond := "d.id IN (SELECT document_id FROM kb_document_tags WHERE team_id = $1 AND tag IN (" +
			db.InList(len(tags), len(w.Args)+1) + "))"
		w.Conds = append(w.Conds, cond)
		for _, t := range tags {
			w.Args = append(w.Args, t)
		}
	}
	ids, err := db.QueryStrings(ctx, q, `SELECT d.id FROM kb_documents d WHERE `+w.SQL(), w.Args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// ftsToken is how the SQLite full-text index names a team or a document
// (migration 0002): 'k' || hex(id) || '0'.
func ftsToken(id string) string {
	return "k" + strings.ToUpper(hex.EncodeToString([]byte(id))) + "0"
}

// maxFTSDocs is the most documents a filter names inside the SQLite
// full-text query; a wider filter checks documents after ranking instead.
const maxFTSDocs = 200

// textRanked returns chunk IDs by full-text relevance: FTS5's bm25 on
// SQLite (section path weighted double), ts_rank_cd over the tsvector
// column (GIN-indexed) on PostgreSQL. Terms are ORed: a chunk that holds
// more of them, and rarer ones, ranks higher.
func (s *Service) textRanked(ctx context.Context, q db.Querier, teamID string, p SearchParams, allowed map[string]bool) ([]string, error) {
	terms := queryTerms(p.Query)
	if len(terms) == 0 || (allowed != nil && len(allowed) == 0) {
		return nil, nil
	}
	if s.d.Dialect == db.Postgres {
		// kb_text_search (migration 0002) ranks with the GIN index, which
		// row-level security keeps a plain query from using; it takes the
		// team from the transaction, as the policy does, and the passages
		// are read back through the policy.
		var docs any
		if allowed != nil {
			docs = slices.Sorted(maps.Keys(allowed))
		}
		return db.QueryStrings(ctx, q, `SELECT chunk_id FROM kb_text_search($1, $2, $3)`,
			strings.Join(terms, " | "), docs, Candidates)
	}
	// SQLite ranks inside the full-text index, whose team and doc columns
	// hold one token each, and reads kb_chunks only for the best
	// Candidates: fetching every match's row to check its team before
	// ranking was most of a query's time at 100,000 chunks. The team
	// column still decides on the rows read.
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + t + `"`
	}
	expr := `team : "` + ftsToken(teamID) + `" AND {section_path text} : (` + strings.Join(quoted, " OR ") + `)`
	limit := " LIMIT " + fmt.Sprint(Candidates)
	if allowed != nil {
		if len(allowed) <= maxFTSDocs {
			docs := make([]string, 0, len(allowed))
			for _, id := range slices.Sorted(maps.Keys(allowed)) {
				docs = append(docs, `"`+ftsToken(id)+`"`)
			}
			expr += ` AND doc : (` + strings.Join(docs, " OR ") + `)`
		} else {
			limit = "" // rank every match; the documents are checked below
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.document_id FROM
		(SELECT rowid, bm25(kb_chunks_fts, 0.0, 0.0, 2.0, 1.0) AS r FROM kb_chunks_fts WHERE kb_chunks_fts MATCH $2 ORDER BY r`+limit+`) f
		CROSS JOIN kb_chunks c ON c.rowid = f.rowid WHERE c.team_id = $1 ORDER BY f.r, c.id`, teamID, expr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() && len(out) < Candidates {
		var id, docID string
		if err := rows.Scan(&id, &docID); err != nil {
			return nil, err
		}
		if allowed == nil || allowed[docID] {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

// hitIDs are the chunk IDs of the vector ranker's hits (by cosine
// similarity to the query's vector over the team's vectors of the current
// model, from the process's in-memory index: vecindex.go), best first.
func hitIDs(hits []vecHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.id
	}
	return out
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
		allowed, err := allowedDocs(ctx, q, teamID, p)
		if err != nil {
			return fmt.Errorf("search filters: %w", err)
		}
		// The vectors are scored in memory while the database ranks the
		// full text: the two rankers overlap instead of adding up (the
		// index is read, or refreshed, first, in this transaction).
		var vec []string
		var scored chan struct{}
		if qv != nil && (allowed == nil || len(allowed) > 0) {
			idx, err := s.vecs.index(ctx, q, s.d.Dialect, teamID, model)
			if err != nil {
				return fmt.Errorf("vector search: %w", err)
			}
			scored = make(chan struct{})
			go func() {
				defer close(scored)
				vec = hitIDs(idx.top(qv, Candidates, s.minSim, allowed))
			}()
		}
		text, err := s.textRanked(ctx, q, teamID, p, allowed)
		if scored != nil {
			<-scored
		}
		if err != nil {
			return fmt.Errorf("full-text search: %w", err)
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
	// The chunk IDs lead: SQLite, left to choose, walked the team index and
	// checked every chunk of the team against the list.
	w := &db.Where{}
	w.Add(db.NotIndexed(s.d.Dialect, "c.team_id")+" = %s", teamID)
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
