-- Raw OCSF is stored in blocks: the findings an import batch writes are
-- packed together (see PostgreSQL's 0008). Findings stored before keep their
-- row in finding_raw (raw_block_id NULL) until their raw OCSF changes.
CREATE TABLE finding_raw_blocks (
    id      INTEGER PRIMARY KEY,
    team_id TEXT NOT NULL,
    live    INTEGER NOT NULL,
    data    BLOB NOT NULL
);
ALTER TABLE findings ADD COLUMN raw_block_id INTEGER;
ALTER TABLE findings ADD COLUMN raw_index INTEGER NOT NULL DEFAULT 0;
