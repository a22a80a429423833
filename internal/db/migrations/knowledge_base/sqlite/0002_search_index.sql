-- Search at 100,000 chunks (issue 18; docs/PERFORMANCE.md).
--
-- The full-text index carries each chunk's team and document as one token
-- each, so that a search ranks inside the index alone: "team : T AND
-- {section_path text} : (terms)" ORDER BY bm25 LIMIT n, instead of
-- fetching every matching chunk's row to check its team before ranking
-- (a B-tree probe into kb_chunks per match, most of a query's time). It is
-- contentless (the text lives in kb_chunks) with contentless_delete, so a
-- deleted chunk is removed by rowid. The tokens are 'k' || hex(id) || '0':
-- letters and digits only (one token for the unicode61 tokenizer) and too
-- long for the porter stemmer to touch. kb_chunks.team_id is still checked
-- on every result: the token narrows, the column decides.
DROP TRIGGER kb_chunks_ai;
DROP TRIGGER kb_chunks_ad;
DROP TABLE kb_chunks_fts;
CREATE VIRTUAL TABLE kb_chunks_fts USING fts5(team, doc, section_path, text, content='', contentless_delete=1,
    tokenize='porter unicode61');
INSERT INTO kb_chunks_fts(rowid, team, doc, section_path, text)
    SELECT rowid, 'k' || hex(team_id) || '0', 'k' || hex(document_id) || '0', section_path, text FROM kb_chunks;
CREATE TRIGGER kb_chunks_ai AFTER INSERT ON kb_chunks BEGIN
    INSERT INTO kb_chunks_fts(rowid, team, doc, section_path, text)
        VALUES (new.rowid, 'k' || hex(new.team_id) || '0', 'k' || hex(new.document_id) || '0', new.section_path, new.text);
END;
CREATE TRIGGER kb_chunks_ad AFTER DELETE ON kb_chunks BEGIN
    DELETE FROM kb_chunks_fts WHERE rowid = old.rowid;
END;

-- The vector index each process keeps in memory (internal/knowledge,
-- vecindex.go) asks one row per search whether the team's vectors changed,
-- and only then which documents did: every transaction that replaces a
-- document's chunks, adds vectors or deletes a document bumps both.
CREATE TABLE kb_data_versions (
    team_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
ALTER TABLE kb_documents ADD COLUMN vectors_gen BIGINT NOT NULL DEFAULT 0;
