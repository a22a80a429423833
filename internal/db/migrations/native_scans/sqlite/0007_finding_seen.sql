-- When each finding was last reported, and by which scan, in a narrow table
-- of its own: a re-import marks every unchanged finding as seen again, and
-- rewriting the wide findings row for that was most of a re-import's time.
CREATE TABLE finding_seen (
    finding_id   INTEGER PRIMARY KEY REFERENCES findings(id) ON DELETE CASCADE,
    team_id      TEXT NOT NULL,
    last_seen    TIMESTAMP NOT NULL,
    last_scan_id TEXT NOT NULL
);
INSERT INTO finding_seen (finding_id, team_id, last_seen, last_scan_id) SELECT id, team_id, last_seen, last_scan_id FROM findings;
CREATE INDEX finding_seen_team_scan ON finding_seen(team_id, last_scan_id);
DROP INDEX findings_team_scan;
ALTER TABLE findings DROP COLUMN last_seen;
ALTER TABLE findings DROP COLUMN last_scan_id;
