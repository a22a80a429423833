-- finding_seen keeps only the sightings that are written out (see
-- PostgreSQL's 0012): no row means last seen by the scope's latest import.
UPDATE finding_seen SET in_latest = 0
WHERE in_latest AND NOT EXISTS (
    SELECT 1 FROM findings f JOIN scope_latest sl ON sl.team_id = f.team_id AND sl.scope_key = f.scope_key
    WHERE f.id = finding_seen.finding_id);
DELETE FROM finding_seen WHERE in_latest;
DROP INDEX finding_seen_team_scan;
ALTER TABLE finding_seen DROP COLUMN in_latest;
CREATE INDEX finding_seen_team_scan ON finding_seen(team_id, last_scan_id);
