-- A re-import no longer marks every unchanged finding as seen again: each
-- scope remembers the import that last covered it (see PostgreSQL's 0011).
CREATE TABLE scope_latest (
    team_id   TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    scan_id   TEXT NOT NULL,
    seen_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, scope_key)
);
CREATE INDEX scope_latest_scan ON scope_latest(team_id, scan_id);
ALTER TABLE finding_seen ADD COLUMN in_latest INTEGER NOT NULL DEFAULT 0;
-- Only written-out sightings are indexed for the scan filter (see
-- PostgreSQL's 0011).
DROP INDEX finding_seen_team_scan;
CREATE INDEX finding_seen_team_scan ON finding_seen(team_id, last_scan_id) WHERE NOT in_latest;
