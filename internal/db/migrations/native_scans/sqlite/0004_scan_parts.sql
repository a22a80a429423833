-- What each part of a multi-part scan (a ScanRun's SubJob) imported, written
-- in the import's own transaction: a SubJob re-run after its worker died
-- finds its part already recorded and does not import it twice.
CREATE TABLE scan_parts (
    team_id    TEXT NOT NULL,
    scan_id    TEXT NOT NULL,
    part_id    TEXT NOT NULL,
    result     TEXT NOT NULL,                     -- the import's result as JSON
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, part_id)
);
