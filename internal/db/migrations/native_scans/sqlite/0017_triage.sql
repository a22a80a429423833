-- Triage (issue 20): an assignee, triage states distinct from mute
-- (false_positive and out_of_scope are statuses: they leave every open count
-- and scans keep them, see findings.nextStatus), comments, and risk
-- acceptances that may wait for an approver other than the requester.
ALTER TABLE findings ADD COLUMN assignee_id TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN assignee_email TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN triage_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN triaged_by TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN triaged_at TIMESTAMP;
-- The assignee filter walks this in the lists' order. Partial: an import
-- never assigns, so new findings cost it no index entry (the filter adds
-- "assignee_id <> ''" for both engines to use it).
CREATE INDEX findings_team_assignee ON findings(team_id, assignee_id, severity, id) WHERE assignee_id <> '';

-- Who did a change and why (a comment's author, an approval's note).
ALTER TABLE finding_history ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE finding_history ADD COLUMN note TEXT NOT NULL DEFAULT '';

CREATE TABLE finding_comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    TEXT NOT NULL,
    finding_id BIGINT NOT NULL,
    author     TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX finding_comments_finding ON finding_comments(finding_id, id);

-- A risk acceptance of one finding: pending until approved when the team
-- requires approval, then approved (the finding muted as risk_accepted
-- until expires_at), rejected, or revoked when the finding is reopened.
CREATE TABLE risk_acceptances (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL,
    finding_id   BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    expires_at   TIMESTAMP,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    state        TEXT NOT NULL,                 -- pending, approved, rejected, revoked
    decided_by   TEXT NOT NULL DEFAULT '',
    decided_at   TIMESTAMP,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX risk_acceptances_finding ON risk_acceptances(finding_id, requested_at);
CREATE INDEX risk_acceptances_team_state ON risk_acceptances(team_id, state, finding_id);

CREATE TABLE triage_settings (
    team_id                           TEXT PRIMARY KEY,
    risk_acceptance_requires_approval BOOLEAN NOT NULL DEFAULT false,
    updated_by                        TEXT NOT NULL DEFAULT '',
    updated_at                        TIMESTAMP
);
