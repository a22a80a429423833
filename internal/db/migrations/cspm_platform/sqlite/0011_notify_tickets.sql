-- Notifications and tickets (internal/notify). A rule says which events of
-- a team go to which channel, one message each or in an hourly or daily
-- digest. The channel's secrets (webhook URLs, HMAC secret, SMTP password)
-- are sealed in channel_secret and never returned by the API; channel holds
-- what may be shown.
CREATE TABLE notify_rules (
    id             TEXT PRIMARY KEY,
    team_id        TEXT NOT NULL,
    name           TEXT NOT NULL,
    event          TEXT NOT NULL,             -- finding.new, vuln.kev, sla.breached, scan.failed, compliance.score_dropped, bia.review_overdue
    filters        TEXT NOT NULL DEFAULT '{}', -- JSON: notify.Filters
    channel_kind   TEXT NOT NULL,             -- webhook, slack, teams, email
    channel        TEXT NOT NULL DEFAULT '{}', -- JSON: the channel's settings that may be shown
    channel_secret TEXT NOT NULL DEFAULT '',   -- sealed JSON: notify.ChannelSecret
    digest         TEXT NOT NULL DEFAULT '',   -- '', hourly, daily
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    last_digest_at TIMESTAMP,
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX notify_rules_team ON notify_rules(team_id, event);

-- One message of a rule: an event to send now, an event waiting for the
-- rule's digest, or a digest. The table is the outbox and the delivery log:
-- a row is written before anything is sent, so a process that dies while
-- sending leaves a pending row that the sweep (notify_digest) queues again.
CREATE TABLE notify_deliveries (
    id              TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL,
    rule_id         TEXT NOT NULL REFERENCES notify_rules(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,             -- the event's idempotency key, or the digest's ID
    event_type      TEXT NOT NULL,
    kind            TEXT NOT NULL,             -- event, digest, test
    payload         TEXT NOT NULL,             -- JSON: the event, or the digest's events
    status          TEXT NOT NULL,             -- pending, queued_for_digest, in_digest, delivered, failed
    digest_id       TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    status_code     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP,
    UNIQUE (rule_id, event_id)
);
CREATE INDEX notify_deliveries_rule ON notify_deliveries(team_id, rule_id, created_at);
CREATE INDEX notify_deliveries_status ON notify_deliveries(status, updated_at);

-- The last compliance score seen per team and scope, to tell a drop.
CREATE TABLE notify_scores (
    team_id    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, scope)
);

-- Ticket systems per team (Jira Cloud or Data Center, GitHub Issues); the
-- token and the webhook secret are sealed.
CREATE TABLE ticket_integrations (
    id              TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,             -- jira, github
    name            TEXT NOT NULL,
    base_url        TEXT NOT NULL,
    project         TEXT NOT NULL,             -- Jira project key, or GitHub owner/repo
    issue_type      TEXT NOT NULL DEFAULT '',
    username        TEXT NOT NULL DEFAULT '',  -- Jira Cloud: the account email (basic auth with an API token)
    token           TEXT NOT NULL,             -- sealed
    webhook_secret  TEXT NOT NULL,             -- sealed
    close_on_done   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX ticket_integrations_team ON ticket_integrations(team_id);

-- A ticket pushed for a finding or a vulnerability, and its state as the
-- ticket system last told it.
CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL,
    integration_id  TEXT NOT NULL REFERENCES ticket_integrations(id) ON DELETE CASCADE,
    subject_kind    TEXT NOT NULL,             -- finding, vulnerability
    subject_id      TEXT NOT NULL,
    ticket_key      TEXT NOT NULL,             -- PROJ-12, or owner/repo#34
    url             TEXT NOT NULL,
    state           TEXT NOT NULL,             -- open, done
    status_name     TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (team_id, integration_id, subject_kind, subject_id)
);
CREATE INDEX tickets_subject ON tickets(team_id, subject_kind, subject_id);
CREATE INDEX tickets_key ON tickets(integration_id, ticket_key);
