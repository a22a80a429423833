package knowledge

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// EmbedBatch is how many chunks go to the embedding provider in one request.
const EmbedBatch = 64

// ProcessDocumentArgs is the River job that extracts, chunks and indexes
// one version of a document.
type ProcessDocumentArgs struct {
	TeamID     string `json:"team_id"`
	DocumentID string `json:"document_id"`
	Version    int    `json:"version"`
}

// Kind implements river.JobArgs.
func (ProcessDocumentArgs) Kind() string { return "kb_process_document" }

// InsertOpts: the knowledge queue; a malformed file fails the same way
// every time, and such failures cancel the job themselves.
func (ProcessDocumentArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3}
}

// ProcessDocumentWorker works ProcessDocumentArgs.
type ProcessDocumentWorker struct {
	river.WorkerDefaults[ProcessDocumentArgs]
	Service func() *Service
}

// Timeout allows for a large PDF.
func (w *ProcessDocumentWorker) Timeout(*river.Job[ProcessDocumentArgs]) time.Duration {
	return 10 * time.Minute
}

// Work processes the document.
func (w *ProcessDocumentWorker) Work(ctx context.Context, job *river.Job[ProcessDocumentArgs]) error {
	err := w.Service().ProcessDocument(ctx, job.Args.TeamID, job.Args.DocumentID, job.Args.Version)
	if errors.Is(err, ErrUnsupported) || errors.Is(err, db.ErrNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// ProcessDocument extracts and chunks one version and swaps its chunks in
// for the previous version's in one transaction, so a search sees either
// the old chunks or the new, never neither. A newer version uploaded
// meanwhile wins: this one then does nothing. Embedding follows in the
// kb_embed job.
func (s *Service) ProcessDocument(ctx context.Context, teamID, docID string, version int) error {
	name, ctype, current, body, err := s.documentSource(ctx, teamID, docID)
	if err != nil {
		return err
	}
	if current != version {
		return nil
	}
	_ = s.setStatus(ctx, teamID, docID, version, StatusProcessing, "")
	blocks, err := Extract(ctype, body)
	if err != nil {
		_ = s.setStatus(ctx, teamID, docID, version, StatusFailed, err.Error())
		return err
	}
	title := ""
	for _, b := range blocks {
		if b.Level == 1 {
			title = b.Text
			break
		}
	}
	fallback := strings.TrimSuffix(name, path.Ext(name))
	pieces := ChunkBlocks(blocks, fallback)
	if title == "" {
		title = fallback
	}
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		var v int
		if err := db.MapError(q.QueryRowContext(ctx, `SELECT version FROM kb_documents WHERE team_id = $1 AND id = $2`,
			teamID, docID).Scan(&v)); err != nil {
			return err
		}
		if v != version {
			return errSuperseded
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM kb_embeddings WHERE team_id = $1 AND chunk_id IN
			(SELECT id FROM kb_chunks WHERE team_id = $1 AND document_id = $2)`, teamID, docID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM kb_chunks WHERE team_id = $1 AND document_id = $2`, teamID, docID); err != nil {
			return err
		}
		for _, p := range pieces {
			if _, err := q.ExecContext(ctx, `INSERT INTO kb_chunks (id, team_id, document_id, seq, section_path, page, text)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id.New(), teamID, docID, p.Seq, p.SectionPath, p.Page, p.Text); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, `UPDATE kb_documents SET status = $3, error = '', title = $4, chunks_total = $5, updated_at = $6
			WHERE team_id = $1 AND id = $2`, teamID, docID, StatusReady, title, len(pieces), s.now().UTC()); err != nil {
			return err
		}
		return bumpVersion(ctx, q, teamID, docID) // its vectors went with its old chunks
	})
	if errors.Is(err, errSuperseded) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.embedModel(ctx, teamID) != "" {
		return s.enqueueEmbed(ctx, teamID)
	}
	return nil
}

var errSuperseded = errors.New("a newer version was uploaded")

// EmbedArgs is the River job that gives every chunk of a team a vector of
// the team's current embedding model: after a document is chunked, and
// after the model changes.
type EmbedArgs struct {
	TeamID string `json:"team_id"`
}

// Kind implements river.JobArgs.
func (EmbedArgs) Kind() string { return "kb_embed" }

// InsertOpts: a provider that is down or rate-limiting gets River's
// backoff between attempts on top of the client's own retries.
func (EmbedArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

// EmbedWorker works EmbedArgs.
type EmbedWorker struct {
	river.WorkerDefaults[EmbedArgs]
	Service func() *Service
}

// Timeout allows for a large library on a slow local model.
func (w *EmbedWorker) Timeout(*river.Job[EmbedArgs]) time.Duration { return time.Hour }

// Work embeds what lacks a current vector.
func (w *EmbedWorker) Work(ctx context.Context, job *river.Job[EmbedArgs]) error {
	_, err := w.Service().EmbedPending(ctx, job.Args.TeamID)
	return err
}

func (s *Service) enqueueEmbed(ctx context.Context, teamID string) error {
	if s.queue == nil {
		return nil
	}
	_, err := s.queue.Insert(ctx, EmbedArgs{TeamID: teamID}, nil)
	return err
}

// EmbedPending embeds, batch by batch, every chunk of the team without a
// vector of the current model, and returns how many it embedded. Each
// batch commits on its own: progress survives a failure, and documents
// show how many of their chunks are embedded.
func (s *Service) EmbedPending(ctx context.Context, teamID string) (int, error) {
	emb, model, err := s.embedder(ctx, teamID)
	if err != nil || emb == nil {
		return 0, err
	}
	done := 0
	// after walks the chunks by ID, so that each batch starts where the
	// last one ended instead of passing every chunk embedded so far (which
	// made a library of 100,000 chunks quadratic). A chunk added behind the
	// cursor meanwhile has its own kb_embed job, queued after its commit.
	// On SQLite the team filter must not pick the team index, or every
	// batch sorts all of the team's chunks by ID again.
	after := ""
	for {
		type row struct{ id, doc, text string }
		var batch []row
		err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
			rows, err := q.QueryContext(ctx, `SELECT c.id, c.document_id, c.section_path, c.text FROM kb_chunks c
				LEFT JOIN kb_embeddings e ON e.chunk_id = c.id AND e.model = $2
				WHERE `+db.NotIndexed(s.d.Dialect, "c.team_id")+` = $1 AND c.id > $4 AND e.chunk_id IS NULL
				ORDER BY c.id LIMIT $3`, teamID, model, EmbedBatch, after)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var r row
				var section string
				if err := rows.Scan(&r.id, &r.doc, &section, &r.text); err != nil {
					return err
				}
				r.text = embedText(section, r.text)
				batch = append(batch, r)
			}
			return rows.Err()
		})
		if err != nil || len(batch) == 0 {
			return done, err
		}
		texts := make([]string, len(batch))
		for i, r := range batch {
			texts[i] = r.text
		}
		vecs, err := s.embed(ctx, emb, model, texts)
		if err == nil && len(vecs) != len(texts) {
			err = fmt.Errorf("embedding: %d vectors for %d texts", len(vecs), len(texts))
		}
		if err != nil {
			return done, err
		}
		err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
			for i, r := range batch {
				v := normalize(vecs[i])
				if _, err := q.ExecContext(ctx, `INSERT INTO kb_embeddings (chunk_id, team_id, model, dims, vector)
					SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM kb_chunks WHERE team_id = $2 AND id = $1)
					ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model, dims = excluded.dims, vector = excluded.vector`,
					r.id, teamID, model, len(v), encodeVector(v)); err != nil {
					return err
				}
			}
			docs := make([]string, 0, len(batch))
			for _, r := range batch {
				if !slices.Contains(docs, r.doc) {
					docs = append(docs, r.doc)
				}
			}
			return bumpVersion(ctx, q, teamID, docs...)
		})
		if err != nil {
			return done, err
		}
		done += len(batch)
		after = batch[len(batch)-1].id
	}
}

// embedText is what a chunk's vector is made from: its section path and text.
func embedText(section, text string) string {
	if section == "" {
		return text
	}
	return section + "\n\n" + text
}

func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if sum == 0 {
		return out
	}
	n := float32(1 / math.Sqrt(sum))
	for i, x := range v {
		out[i] = x * n
	}
	return out
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
