-- The knowledge base (internal/knowledge): a team's policy documents, their
-- chunks with the section path each belongs to, the chunks' vectors and the
-- team's provider settings. A document keeps its ID across versions: a new
-- upload under the same name whose content hash differs replaces its chunks.
CREATE TABLE kb_documents (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,            -- markdown, text, html, pdf, docx
    sha256       TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    status       TEXT NOT NULL,            -- queued, processing, ready, failed
    error        TEXT NOT NULL DEFAULT '',
    chunks_done  INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL DEFAULT 0,
    title        TEXT NOT NULL DEFAULT '',
    source       BYTEA NOT NULL,            -- the uploaded file, kept to chunk it again
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX kb_documents_team_name ON kb_documents(team_id, name);

CREATE TABLE kb_document_versions (
    document_id TEXT NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    team_id     TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL DEFAULT '',
    uploaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (document_id, version)
);

CREATE TABLE kb_document_tags (
    document_id TEXT NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    team_id     TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (document_id, tag)
);
CREATE INDEX kb_document_tags_team ON kb_document_tags(team_id, tag);

-- tsv is the full-text index: section path and text, English stemming.
CREATE TABLE kb_chunks (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL,
    document_id  TEXT NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    section_path TEXT NOT NULL DEFAULT '',
    page         INTEGER NOT NULL DEFAULT 0,
    text         TEXT NOT NULL,
    tsv          tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', section_path), 'A') || to_tsvector('english', text)) STORED
);
CREATE INDEX kb_chunks_document ON kb_chunks(document_id, seq);
CREATE INDEX kb_chunks_team ON kb_chunks(team_id);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING GIN (tsv);

-- One vector per chunk, with the model that made it: a change of model
-- leaves these behind until the background job has embedded the chunk again.
CREATE TABLE kb_embeddings (
    chunk_id TEXT PRIMARY KEY REFERENCES kb_chunks(id) ON DELETE CASCADE,
    team_id  TEXT NOT NULL,
    model    TEXT NOT NULL,
    dims     INTEGER NOT NULL,
    vector   BYTEA NOT NULL                 -- little-endian float32, normalized
);
CREATE INDEX kb_embeddings_team_model ON kb_embeddings(team_id, model);

-- Per team: the chat and embedding providers. Keys are sealed (internal/secrets).
CREATE TABLE kb_settings (
    team_id          TEXT PRIMARY KEY,
    chat_provider    TEXT NOT NULL DEFAULT '',
    chat_model       TEXT NOT NULL DEFAULT '',
    chat_base_url    TEXT NOT NULL DEFAULT '',
    chat_key         TEXT NOT NULL DEFAULT '',
    embed_provider   TEXT NOT NULL DEFAULT '',
    embed_model      TEXT NOT NULL DEFAULT '',
    embed_base_url   TEXT NOT NULL DEFAULT '',
    embed_key        TEXT NOT NULL DEFAULT '',
    updated_by       TEXT NOT NULL DEFAULT '',
    updated_at       TIMESTAMPTZ NOT NULL
);

-- cspm:team-isolation kb_documents, kb_document_versions, kb_document_tags, kb_chunks, kb_embeddings, kb_settings
