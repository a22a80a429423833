-- Per team: the last counts of each check the engine read from the
-- findings (findings.Store.CheckResults). A full sync replaces them all; an
-- incremental one re-reads only the checks an import changed and takes the
-- other checks of the controls it scores from here, instead of counting
-- every finding of every check that reaches them again.
CREATE TABLE compliance_check_results (
    team_id      TEXT NOT NULL,
    tool         TEXT NOT NULL,
    check_id     TEXT NOT NULL,
    passed       INTEGER NOT NULL,
    failed       INTEGER NOT NULL,
    muted        INTEGER NOT NULL,
    manual       INTEGER NOT NULL,
    last_scan_id TEXT NOT NULL DEFAULT '',
    last_scan_at TIMESTAMP,
    PRIMARY KEY (team_id, check_id, tool)
);

