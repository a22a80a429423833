-- Muting: rules that mute matching findings at ingestion and retroactively,
-- and single findings muted or risk-accepted by a person, each with a reason,
-- an author and an optional expiry.
ALTER TABLE findings ADD COLUMN mute_kind TEXT NOT NULL DEFAULT '';   -- '', rule, mute, risk_accepted
ALTER TABLE findings ADD COLUMN mute_rule_id TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN muted_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN muted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN muted_until TIMESTAMPTZ;

CREATE TABLE mute_rules (
    id               TEXT PRIMARY KEY,
    team_id          TEXT NOT NULL,
    check_pattern    TEXT NOT NULL DEFAULT '',   -- globs, * and ?, case-insensitive; '' matches all
    resource_pattern TEXT NOT NULL DEFAULT '',
    account_uid      TEXT NOT NULL DEFAULT '',
    region           TEXT NOT NULL DEFAULT '',
    tool             TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ
);
CREATE INDEX mute_rules_team ON mute_rules(team_id);

-- cspm:team-isolation mute_rules
