-- The business tier of a finding's resource (internal/tiers): the tightest
-- criticality tier (1 to 5) of the business impact analyses that depend on
-- its account, resource or tags; 0 when none does. The importer sets it as
-- it writes, and the business tier sync rewrites it when analyses change.
-- A constant default makes the column free to add on a large table.
ALTER TABLE findings ADD COLUMN business_tier SMALLINT NOT NULL DEFAULT 0;
-- Findings with a tier are the few an analysis names: a partial index
-- serves the explorer's tier filter without growing every import's writes.
-- Queries repeat "business_tier > 0" so that SQLite can use it.
CREATE INDEX findings_team_business_tier ON findings(team_id, business_tier, severity, id) WHERE business_tier > 0;

-- The map revision (the analyses' state) last applied to a team's findings.
CREATE TABLE business_tier_state (
    team_id    TEXT PRIMARY KEY,
    revision   TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL
);
