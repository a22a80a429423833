-- Search at 100,000 chunks (issue 18; docs/PERFORMANCE.md).
--
-- Full text under row-level security: a team's transaction is bound by the
-- team_isolation policy, and tsvector @@ tsquery is not LEAKPROOF, so the
-- planner may not test it before the policy: it cannot use the GIN index
-- and tests every chunk of the table (330 ms at 100,000 chunks). This
-- function runs as its owner, the role that migrated the schema, and
-- applies the same rule as the policy itself (the transaction's
-- cspm.team_id, nothing when it is unset); the chunks it names are read
-- back through the policy by the caller. When the owner bypasses
-- row-level security (a superuser or BYPASSRLS URL, whose team
-- transactions run as cspm_tenant) the index is used; when it does not,
-- the policy still binds the owner (FORCE) and the function is as slow as
-- the query it replaces, never less strict. search_path is pinned, as for
-- every SECURITY DEFINER function.
CREATE FUNCTION kb_text_search(p_query text, p_docs text[], p_limit integer)
    RETURNS TABLE (chunk_id text, document_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT c.id, c.document_id FROM kb_chunks c, to_tsquery('english', p_query) q
    WHERE c.team_id = current_setting('cspm.team_id', true) AND c.tsv @@ q
      AND (p_docs IS NULL OR c.document_id = ANY (p_docs))
    ORDER BY ts_rank_cd(c.tsv, q) DESC, c.id LIMIT p_limit
$$;

-- The vector index each process keeps in memory (internal/knowledge,
-- vecindex.go) asks one row per search whether the team's vectors changed,
-- and only then which documents did: every transaction that replaces a
-- document's chunks, adds vectors or deletes a document bumps both.
CREATE TABLE kb_data_versions (
    team_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
ALTER TABLE kb_documents ADD COLUMN vectors_gen BIGINT NOT NULL DEFAULT 0;

-- cspm:team-isolation kb_data_versions
