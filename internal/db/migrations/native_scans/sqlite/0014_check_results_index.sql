-- The compliance engine counts a team's findings per check and current
-- result (findings.Store.CheckResults): this index answers it without
-- reading the findings' rows, in the order its GROUP BY needs, and finds
-- the findings of a few checks (an incremental sync) directly.
CREATE INDEX findings_team_check_results ON findings(team_id, check_id, tool, status, result);
