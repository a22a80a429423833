-- finding_seen keeps only the sightings that are written out: those of
-- findings that the latest import of their scope did not report (or
-- reported under another scope). A finding without a row was last seen by
-- its scope's latest import (scope_latest), or by its first scan when its
-- scope has none. Before, every new finding got a row with in_latest set,
-- which said nothing the absence of a row cannot: writing it was a tenth
-- of a first import's database work.
-- A row in_latest whose scope has no latest import keeps its own sighting.
UPDATE finding_seen SET in_latest = false
WHERE in_latest AND NOT EXISTS (
    SELECT 1 FROM findings f JOIN scope_latest sl ON sl.team_id = f.team_id AND sl.scope_key = f.scope_key
    WHERE f.id = finding_seen.finding_id);
DELETE FROM finding_seen WHERE in_latest;
DROP INDEX finding_seen_team_scan;
ALTER TABLE finding_seen DROP COLUMN in_latest;
CREATE INDEX finding_seen_team_scan ON finding_seen(team_id, last_scan_id);
