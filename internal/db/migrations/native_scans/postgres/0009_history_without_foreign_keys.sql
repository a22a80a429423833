-- finding_history and finding_seen rows are written only by the importer,
-- in the transaction that writes their finding, and findings are never
-- deleted one by one. Their foreign keys checked each new row against
-- findings with a row lock (SELECT ... FOR KEY SHARE, which writes WAL
-- for the finding it locks): half of the time an import spent on these
-- two tables (100,000 findings: 1.56 s -> 0.81 s).
ALTER TABLE finding_seen DROP CONSTRAINT IF EXISTS finding_seen_finding_id_fkey;
ALTER TABLE finding_history DROP CONSTRAINT IF EXISTS finding_history_finding_id_fkey;
