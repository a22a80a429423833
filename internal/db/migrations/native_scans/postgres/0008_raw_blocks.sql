-- Raw OCSF is stored in blocks: the findings an import batch writes are
-- packed together, where the repetition between findings of one check
-- compresses (2.4x fewer bytes than one packed value per finding) and one
-- row per block replaces one row per finding. A finding names its block and
-- its place in it; `live` counts the findings that still do, and a block
-- whose count reaches zero is deleted. Findings stored before keep their
-- row in finding_raw (raw_block_id NULL) until their raw OCSF changes.
CREATE TABLE finding_raw_blocks (
    id      BIGSERIAL PRIMARY KEY,
    team_id TEXT NOT NULL,
    live    INTEGER NOT NULL,
    data    BYTEA NOT NULL
);
ALTER TABLE finding_raw_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE findings ADD COLUMN raw_block_id BIGINT;
ALTER TABLE findings ADD COLUMN raw_index INTEGER NOT NULL DEFAULT 0;

-- cspm:team-isolation finding_raw_blocks
