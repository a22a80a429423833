-- A counter per team that every write to its findings bumps in the same
-- transaction: list totals and facet counts are cached under it (see
-- internal/listcache), so a cached count is never one a write has changed.
CREATE TABLE findings_data_versions (
    scope   TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

-- Lists sort by severity then id, newest first, and read a page by walking
-- an index in that order instead of sorting every match: with a status
-- filter along (team, status, severity, id), without one along
-- (team, severity, id). The first also serves the posture counts.
DROP INDEX findings_team_status_sev;
CREATE INDEX findings_team_status_sev_id ON findings(team_id, status, severity, id);
CREATE INDEX findings_team_sev_id ON findings(team_id, severity, id);
