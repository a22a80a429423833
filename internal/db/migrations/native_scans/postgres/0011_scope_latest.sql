-- A re-import no longer marks every unchanged finding as seen again. Each
-- scope (tool and account and region, or tool and target) remembers the
-- import that last covered it; a finding reported by that import has
-- in_latest set and its last sighting is that import's. Only findings that
-- change, come back or go missing are written: in_latest is cleared, with
-- the sighting it stands for, when a later import of the scope no longer
-- reports the finding. Rows stored before have in_latest false and their
-- own last_seen and last_scan_id, which stay right.
CREATE TABLE scope_latest (
    team_id   TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    scan_id   TEXT NOT NULL,
    seen_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, scope_key)
);
CREATE INDEX scope_latest_scan ON scope_latest(team_id, scan_id);
ALTER TABLE finding_seen ADD COLUMN in_latest BOOLEAN NOT NULL DEFAULT false;
-- The scan filter finds the findings a scan was the last to see through
-- this index only when their sighting is written out; the others are found
-- through scope_latest. Indexing only those keeps the filter from reading
-- the sightings of every finding in its scope's latest import, and new
-- findings (in_latest from the start) from costing an index entry.
DROP INDEX finding_seen_team_scan;
CREATE INDEX finding_seen_team_scan ON finding_seen(team_id, last_scan_id) WHERE NOT in_latest;

-- cspm:team-isolation scope_latest
