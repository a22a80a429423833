package knowledge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/offloadsecurity/cspm/internal/audit"
	"github.com/offloadsecurity/cspm/internal/db"
	"github.com/offloadsecurity/cspm/internal/id"
)

// Document statuses.
const (
	StatusQueued     = "queued"
	StatusProcessing = "processing"
	StatusReady      = "ready"
	StatusFailed     = "failed"
)

// Document is one policy document of a team. Its ID stays the same across
// versions; Version counts uploads whose content changed.
type Document struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Title       string    `json:"title"`
	ContentType string    `json:"content_type" enum:"markdown,text,html,pdf,docx"`
	SHA256      string    `json:"sha256"`
	SizeBytes   int64     `json:"size_bytes"`
	Version     int       `json:"version"`
	Status      string    `json:"status" enum:"queued,processing,ready,failed"`
	Error       string    `json:"error,omitempty"`
	Chunks      int       `json:"chunks" doc:"Chunks of the current version."`
	Embedded    int       `json:"embedded" doc:"Chunks with a vector of the team's current embedding model."`
	Tags        []string  `json:"tags"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// DocumentVersion is one upload that changed a document.
type DocumentVersion struct {
	Version    int       `json:"version"`
	SHA256     string    `json:"sha256"`
	SizeBytes  int64     `json:"size_bytes"`
	UploadedBy string    `json:"uploaded_by"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// UploadParams is one file to add or replace.
type UploadParams struct {
	Name string
	// Tags, when not nil, replace the document's tags.
	Tags  []string
	Body  io.Reader
	Actor audit.Event
	// KeepPath keeps Name's folders (a file of an archive or a folder:
	// "policies/hr/leave.md"); otherwise the name is its last element.
	KeepPath bool
}

// UploadResult says what an upload did.
type UploadResult struct {
	Document Document `json:"document"`
	// Changed is false when the same content was uploaded again: nothing
	// was queued.
	Changed bool `json:"changed"`
}

// cleanName keeps the last path element of a file name, without control
// characters, at most 200 characters.
func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// CleanTags lower-cases, trims and deduplicates tags: at most 20 of at most
// 50 characters each, letters, digits and - _ . : / only.
func CleanTags(tags []string) ([]string, error) {
	out := []string{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len(t) > 50 || strings.IndexFunc(t, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.:/", r)
		}) >= 0 {
			return nil, fmt.Errorf("%w: tag %q: at most 50 letters, digits or - _ . : /", ErrInvalid, t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > 20 {
		return nil, fmt.Errorf("%w: at most 20 tags", ErrInvalid)
	}
	slices.Sort(out)
	return out, nil
}

// DocumentUpload adds a document, or a new version of the one of the same
// name when its content changed. The file is read whole (up to the size
// limit) and its text extracted before anything is written, so a file too
// large, of an unknown type or malformed is refused and the version before
// it stays as it was. Chunking and embedding run in the kb_process_document
// job.
func (s *Service) DocumentUpload(ctx context.Context, teamID string, p UploadParams) (UploadResult, error) {
	name := cleanName(p.Name)
	if p.KeepPath {
		var err error
		if name, err = CleanPath(p.Name); err != nil {
			return UploadResult{}, err
		}
	}
	if name == "" {
		return UploadResult{}, fmt.Errorf("%w: the file needs a name", ErrInvalid)
	}
	var tags []string
	if p.Tags != nil {
		var err error
		if tags, err = CleanTags(p.Tags); err != nil {
			return UploadResult{}, err
		}
	}
	body, err := io.ReadAll(io.LimitReader(p.Body, s.maxBytes+1))
	if err != nil {
		return UploadResult{}, err
	}
	if int64(len(body)) > s.maxBytes {
		return UploadResult{}, fmt.Errorf("%w: %s is larger than the %d-byte limit (kb_max_bytes)", ErrTooLarge, name, s.maxBytes)
	}
	if len(body) == 0 {
		return UploadResult{}, fmt.Errorf("%w: %s is empty", ErrUnsupported, name)
	}
	ctype, err := DetectType(name, body)
	if err != nil {
		return UploadResult{}, err
	}
	if _, err := Extract(ctype, body); err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", name, err)
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	now := s.now().UTC()
	var (
		docID   string
		version int
		changed bool
	)
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		var oldSum string
		err := q.QueryRowContext(ctx, `SELECT id, version, sha256 FROM kb_documents WHERE team_id = $1 AND name = $2`,
			teamID, name).Scan(&docID, &version, &oldSum)
		switch {
		case errors.Is(err, db.ErrNotFound), errors.Is(db.MapError(err), db.ErrNotFound):
			docID, version, changed = id.New(), 1, true
			if _, err := q.ExecContext(ctx, `INSERT INTO kb_documents (id, team_id, name, content_type, sha256, size_bytes, version,
				status, source, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $10)`,
				docID, teamID, name, ctype, digest, len(body), StatusQueued, body, p.Actor.ActorEmail, now); err != nil {
				return db.MapError(err)
			}
		case err != nil:
			return err
		case oldSum != digest:
			version, changed = version+1, true
			if _, err := q.ExecContext(ctx, `UPDATE kb_documents SET content_type = $3, sha256 = $4, size_bytes = $5, version = $6,
				status = $7, error = '', source = $8, updated_at = $9 WHERE team_id = $1 AND id = $2`,
				teamID, docID, ctype, digest, len(body), version, StatusQueued, body, now); err != nil {
				return err
			}
		}
		if changed {
			if _, err := q.ExecContext(ctx, `INSERT INTO kb_document_versions (document_id, version, team_id, sha256, size_bytes,
				uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				docID, version, teamID, digest, len(body), p.Actor.ActorEmail, now); err != nil {
				return err
			}
		}
		if tags != nil {
			return setTags(ctx, q, teamID, docID, tags)
		}
		return nil
	})
	if err != nil {
		return UploadResult{}, err
	}
	if changed {
		if err := s.enqueueProcess(ctx, teamID, docID, version); err != nil {
			return UploadResult{}, err
		}
		s.record(ctx, p.Actor, teamID, "kb.document_uploaded", "kb_document", docID, map[string]any{"name": name,
			"version": version, "bytes": len(body), "sha256": digest, "content_type": ctype})
	}
	doc, err := s.DocumentGet(ctx, teamID, docID)
	return UploadResult{Document: doc, Changed: changed}, err
}

// enqueueProcess queues the job; a queue that refuses leaves the document
// failed with a reason, not queued forever.
func (s *Service) enqueueProcess(ctx context.Context, teamID, docID string, version int) error {
	if s.queue == nil {
		return nil
	}
	if _, err := s.queue.Insert(ctx, ProcessDocumentArgs{TeamID: teamID, DocumentID: docID, Version: version}, nil); err != nil {
		_ = s.setStatus(ctx, teamID, docID, version, StatusFailed, "could not queue processing; upload it again")
		return fmt.Errorf("queue the document's processing: %w", err)
	}
	return nil
}

func setTags(ctx context.Context, q db.Querier, teamID, docID string, tags []string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM kb_document_tags WHERE team_id = $1 AND document_id = $2`, teamID, docID); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := q.ExecContext(ctx, `INSERT INTO kb_document_tags (document_id, team_id, tag) VALUES ($1, $2, $3)`,
			docID, teamID, t); err != nil {
			return err
		}
	}
	return nil
}

// DocumentSetTags replaces a document's tags.
func (s *Service) DocumentSetTags(ctx context.Context, teamID, docID string, tags []string, actor audit.Event) (Document, error) {
	tags, err := CleanTags(tags)
	if err != nil {
		return Document{}, err
	}
	err = s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if err := docExists(ctx, q, teamID, docID); err != nil {
			return err
		}
		return setTags(ctx, q, teamID, docID, tags)
	})
	if err != nil {
		return Document{}, err
	}
	s.record(ctx, actor, teamID, "kb.document_tagged", "kb_document", docID, map[string]any{"tags": tags})
	return s.DocumentGet(ctx, teamID, docID)
}

func docExists(ctx context.Context, q db.Querier, teamID, docID string) error {
	var one int
	return db.MapError(q.QueryRowContext(ctx, `SELECT 1 FROM kb_documents WHERE team_id = $1 AND id = $2`, teamID, docID).Scan(&one))
}

// DocumentListParams filter the library.
type DocumentListParams struct {
	Tag string
}

// docCols: the embedded count walks the document's chunks by the
// (document_id, seq) index and their vectors by chunk ID. No team
// condition inside (a document's chunks are its team's): one on
// kb_embeddings made SQLite lead with its (team_id, model) index and one on
// kb_chunks with the team index, scanning the whole team once per document,
// minutes for a library of 2,000 documents.
const docCols = `d.id, d.name, d.title, d.content_type, d.sha256, d.size_bytes, d.version, d.status, d.error, d.chunks_total,
	d.created_by, d.created_at, d.updated_at,
	(SELECT COUNT(*) FROM kb_chunks c JOIN kb_embeddings e ON e.chunk_id = c.id AND e.model = $2 WHERE c.document_id = d.id)`

func scanDoc(sc interface{ Scan(...any) error }) (Document, error) {
	var (
		d                Document
		created, updated db.Time
	)
	if err := sc.Scan(&d.ID, &d.Name, &d.Title, &d.ContentType, &d.SHA256, &d.SizeBytes, &d.Version, &d.Status, &d.Error,
		&d.Chunks, &d.CreatedBy, &created, &updated, &d.Embedded); err != nil {
		return d, db.MapError(err)
	}
	d.CreatedAt, d.UpdatedAt, d.Tags = created.UTC(), updated.UTC(), []string{}
	return d, nil
}

// DocumentList returns the team's documents by name.
func (s *Service) DocumentList(ctx context.Context, teamID string, p DocumentListParams) ([]Document, error) {
	model := s.embedModel(ctx, teamID)
	out := []Document{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		query := `SELECT ` + docCols + ` FROM kb_documents d WHERE d.team_id = $1`
		args := []any{teamID, model}
		if p.Tag != "" {
			query += ` AND d.id IN (SELECT document_id FROM kb_document_tags WHERE team_id = $1 AND tag = $3)`
			args = append(args, strings.ToLower(p.Tag))
		}
		rows, err := q.QueryContext(ctx, query+` ORDER BY d.name`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDoc(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.fillTags(ctx, q, teamID, out)
	})
	return out, err
}

func (s *Service) fillTags(ctx context.Context, q db.Querier, teamID string, docs []Document) error {
	idx := map[string]int{}
	for i, d := range docs {
		idx[d.ID] = i
	}
	rows, err := q.QueryContext(ctx, `SELECT document_id, tag FROM kb_document_tags WHERE team_id = $1 ORDER BY tag`, teamID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var docID, tag string
		if err := rows.Scan(&docID, &tag); err != nil {
			return err
		}
		if i, ok := idx[docID]; ok {
			docs[i].Tags = append(docs[i].Tags, tag)
		}
	}
	return rows.Err()
}

// DocumentGet returns one document; another team's answers ErrNotFound.
func (s *Service) DocumentGet(ctx context.Context, teamID, docID string) (Document, error) {
	model := s.embedModel(ctx, teamID)
	var d Document
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		var err error
		d, err = scanDoc(q.QueryRowContext(ctx, `SELECT `+docCols+` FROM kb_documents d WHERE d.team_id = $1 AND d.id = $3`,
			teamID, model, docID))
		if err != nil {
			return err
		}
		docs := []Document{d}
		err = s.fillTags(ctx, q, teamID, docs)
		d = docs[0]
		return err
	})
	return d, err
}

// DocumentVersions lists a document's versions, newest first.
func (s *Service) DocumentVersions(ctx context.Context, teamID, docID string) ([]DocumentVersion, error) {
	out := []DocumentVersion{}
	err := s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		if err := docExists(ctx, q, teamID, docID); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT version, sha256, size_bytes, uploaded_by, uploaded_at FROM kb_document_versions
			WHERE team_id = $1 AND document_id = $2 ORDER BY version DESC`, teamID, docID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v DocumentVersion
			var at db.Time
			if err := rows.Scan(&v.Version, &v.SHA256, &v.SizeBytes, &v.UploadedBy, &at); err != nil {
				return err
			}
			v.UploadedAt = at.UTC()
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// DocumentDelete removes a document with every version, chunk, vector and tag.
func (s *Service) DocumentDelete(ctx context.Context, teamID, docID string, actor audit.Event) error {
	var name string
	err := s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		if err := db.MapError(q.QueryRowContext(ctx, `SELECT name FROM kb_documents WHERE team_id = $1 AND id = $2`,
			teamID, docID).Scan(&name)); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM kb_embeddings WHERE team_id = $1 AND chunk_id IN (SELECT id FROM kb_chunks WHERE team_id = $1 AND document_id = $2)`,
			`DELETE FROM kb_chunks WHERE team_id = $1 AND document_id = $2`,
			`DELETE FROM kb_document_tags WHERE team_id = $1 AND document_id = $2`,
			`DELETE FROM kb_document_versions WHERE team_id = $1 AND document_id = $2`,
			`DELETE FROM kb_documents WHERE team_id = $1 AND id = $2`,
		} {
			if _, err := q.ExecContext(ctx, stmt, teamID, docID); err != nil {
				return err
			}
		}
		return bumpVersion(ctx, q, teamID)
	})
	if err != nil {
		return err
	}
	s.record(ctx, actor, teamID, "kb.document_deleted", "kb_document", docID, map[string]any{"name": name})
	return nil
}

// DocumentSource returns a document's current file and content type.
func (s *Service) documentSource(ctx context.Context, teamID, docID string) (name, ctype string, version int, body []byte, err error) {
	err = s.d.ReadInTeam(ctx, teamID, func(q db.Querier) error {
		return db.MapError(q.QueryRowContext(ctx, `SELECT name, content_type, version, source FROM kb_documents
			WHERE team_id = $1 AND id = $2`, teamID, docID).Scan(&name, &ctype, &version, &body))
	})
	return name, ctype, version, bytes.Clone(body), err
}

func (s *Service) setStatus(ctx context.Context, teamID, docID string, version int, status, msg string) error {
	return s.d.InTeam(ctx, teamID, func(q db.Querier) error {
		_, err := q.ExecContext(ctx, `UPDATE kb_documents SET status = $4, error = $5, updated_at = $6
			WHERE team_id = $1 AND id = $2 AND version = $3`, teamID, docID, version, status, msg, s.now().UTC())
		return err
	})
}
