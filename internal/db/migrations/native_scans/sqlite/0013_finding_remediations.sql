-- Each team keeps each distinct remediation once (see PostgreSQL's 0013).
-- SQLite has no SHA-256 function: the remediations moved here keep no
-- hash, and an import that meets one again stores it anew.
CREATE TABLE finding_remediations (
    id          INTEGER PRIMARY KEY,
    team_id     TEXT NOT NULL,
    text_hash   TEXT,
    remediation TEXT NOT NULL
);
CREATE UNIQUE INDEX finding_remediations_team_hash ON finding_remediations(team_id, text_hash);
INSERT INTO finding_remediations (team_id, remediation) SELECT DISTINCT team_id, remediation FROM findings;
CREATE INDEX finding_remediations_upgrade ON finding_remediations(team_id, remediation);
ALTER TABLE findings ADD COLUMN remediation_id INTEGER;
UPDATE findings SET remediation_id = (SELECT r.id FROM finding_remediations r
    WHERE r.team_id = findings.team_id AND r.remediation = findings.remediation);
DROP INDEX finding_remediations_upgrade;
ALTER TABLE findings DROP COLUMN remediation;
