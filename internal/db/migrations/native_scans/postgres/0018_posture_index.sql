-- The posture overview counts a team's findings by check, tool, status,
-- result, provider, account, region, service and severity
-- (findings.Store.readPostureGroups): the compliance engine's check-results
-- index, widened by the other five columns, answers both from the index
-- alone and in GROUP BY order. Widened rather than added: one index to keep
-- up on import instead of two. CheckResults reads its first five columns
-- as before.
DROP INDEX findings_team_check_results;
CREATE INDEX findings_team_check_results ON findings(team_id, check_id, tool, status, result, provider, account_uid, region, service, severity);
