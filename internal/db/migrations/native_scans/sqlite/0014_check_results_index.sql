-- The compliance engine counts a team's resources per check and current
-- result (findings.Store.CheckResults): this index answers it without
-- reading the findings' rows, in the order its GROUP BY needs.
CREATE INDEX findings_team_check_results ON findings(team_id, tool, check_id, status, result, scope_key, resource_uid);
