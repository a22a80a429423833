-- The checks whose findings' own compliance map (Prowler's
-- unmapped.compliance) the engine has read into compliance_check_map_entries,
-- so that each check is read once, not at every sync. Content, shared by
-- every team, as the check maps are: a check's map is Prowler's, not a team's.
CREATE TABLE compliance_learned_checks (
    tool       TEXT NOT NULL,
    check_id   TEXT NOT NULL,
    entries    INTEGER NOT NULL,
    learned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tool, check_id)
);
