-- The unified scan results store (the seed's scan_results) and the CSPM
-- findings store with its lifecycle.
CREATE TABLE scan_results (
    id                 TEXT PRIMARY KEY,
    team_id            TEXT NOT NULL,
    scan_type          TEXT NOT NULL,               -- cloud, network, web, container, code
    tool               TEXT NOT NULL,
    source             TEXT NOT NULL,               -- import or scan
    target             TEXT NOT NULL DEFAULT '',
    account_uid        TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL,               -- queued, running, completed, failed
    format             TEXT NOT NULL DEFAULT '',
    filename           TEXT NOT NULL DEFAULT '',
    artifact_ref       TEXT NOT NULL DEFAULT '',
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ,
    items_read         INTEGER NOT NULL DEFAULT 0,
    findings_created   INTEGER NOT NULL DEFAULT 0,
    findings_updated   INTEGER NOT NULL DEFAULT 0,
    findings_unchanged INTEGER NOT NULL DEFAULT 0,
    findings_resolved  INTEGER NOT NULL DEFAULT 0,
    by_severity        TEXT NOT NULL DEFAULT '{}',
    by_result          TEXT NOT NULL DEFAULT '{}',
    error              TEXT NOT NULL DEFAULT '',
    created_by         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX scan_results_team_started ON scan_results(team_id, started_at DESC);

CREATE TABLE findings (
    id            BIGSERIAL PRIMARY KEY,
    team_id       TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    tool          TEXT NOT NULL,
    class_uid     INTEGER NOT NULL,
    check_id      TEXT NOT NULL,
    title         TEXT NOT NULL,
    severity      INTEGER NOT NULL,
    result        TEXT NOT NULL,
    status        TEXT NOT NULL,                    -- open, resolved, reopened, muted
    provider      TEXT NOT NULL DEFAULT '',
    account_uid   TEXT NOT NULL DEFAULT '',
    region        TEXT NOT NULL DEFAULT '',
    service       TEXT NOT NULL DEFAULT '',
    resource_uid  TEXT NOT NULL DEFAULT '',
    resource_name TEXT NOT NULL DEFAULT '',
    resource_type TEXT NOT NULL DEFAULT '',
    target        TEXT NOT NULL DEFAULT '',
    location      TEXT NOT NULL DEFAULT '',
    component     TEXT NOT NULL DEFAULT '',
    version       TEXT NOT NULL DEFAULT '',
    fixed_version TEXT NOT NULL DEFAULT '',
    vuln_ids      TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    remediation   TEXT NOT NULL DEFAULT '',
    scope_key     TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    first_seen    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    resolved_at   TIMESTAMPTZ,
    first_scan_id TEXT NOT NULL,
    last_scan_id  TEXT NOT NULL,
    UNIQUE (team_id, fingerprint)
);
CREATE INDEX findings_team_status_sev ON findings(team_id, status, severity);
CREATE INDEX findings_team_scan ON findings(team_id, last_scan_id);
CREATE INDEX findings_team_scope ON findings(team_id, scope_key, status);

CREATE TABLE finding_raw (
    finding_id BIGINT PRIMARY KEY REFERENCES findings(id) ON DELETE CASCADE,
    team_id    TEXT NOT NULL,
    raw        TEXT NOT NULL
);

-- Raw OCSF is 4-8 KB a finding: lz4 compresses it several times faster
-- than PostgreSQL's default pglz, which dominated bulk imports.
ALTER TABLE finding_raw ALTER COLUMN raw SET COMPRESSION lz4;

CREATE TABLE finding_history (
    id          BIGSERIAL PRIMARY KEY,
    team_id     TEXT NOT NULL,
    finding_id  BIGINT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    scan_id     TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL,
    change      TEXT NOT NULL,                      -- new, changed, reopened, resolved
    from_status TEXT NOT NULL DEFAULT '',
    to_status   TEXT NOT NULL
);
CREATE INDEX finding_history_finding ON finding_history(finding_id, id);

-- cspm:team-isolation scan_results, findings, finding_raw, finding_history
