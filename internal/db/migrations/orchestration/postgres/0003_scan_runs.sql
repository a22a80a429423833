-- The seed's ScanRun and its SubJobs. A ScanRun is one request to scan
-- (an account with some tools and regions, or a list of targets); it is
-- split into SubJobs, each one tool against one region, project,
-- subscription or target, worked by one River job.
CREATE TABLE scan_runs (
    id               TEXT PRIMARY KEY,
    team_id          TEXT NOT NULL,
    scan_type        TEXT NOT NULL,               -- cloud, network, web, container
    account_id       TEXT NOT NULL DEFAULT '',    -- cloud scans: the cloud account
    account_uid      TEXT NOT NULL DEFAULT '',
    provider         TEXT NOT NULL DEFAULT '',
    tools            TEXT NOT NULL,               -- JSON array
    regions          TEXT NOT NULL DEFAULT '[]',  -- JSON array
    targets          TEXT NOT NULL DEFAULT '[]',  -- JSON array
    ports            TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,               -- queued, running, completed, partial, failed, cancelled
    status_detail    TEXT NOT NULL DEFAULT '',    -- why it waits, why it failed
    subjobs_total    INTEGER NOT NULL,
    subjobs_done     INTEGER NOT NULL DEFAULT 0,  -- in a terminal state
    subjobs_failed   INTEGER NOT NULL DEFAULT 0,
    -- Sums over the SubJobs, kept by the transaction that finishes each.
    items_read         INTEGER NOT NULL DEFAULT 0,
    findings_created   INTEGER NOT NULL DEFAULT 0,
    findings_updated   INTEGER NOT NULL DEFAULT 0,
    findings_unchanged INTEGER NOT NULL DEFAULT 0,
    findings_resolved  INTEGER NOT NULL DEFAULT 0,
    by_severity        TEXT NOT NULL DEFAULT '{}',
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    schedule_id      TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX scan_runs_team_created ON scan_runs(team_id, created_at DESC);
-- One running ScanRun per account: the worker looks for older active runs.
CREATE INDEX scan_runs_account_active ON scan_runs(team_id, account_id, status);

CREATE TABLE sub_jobs (
    id                 TEXT PRIMARY KEY,
    team_id            TEXT NOT NULL,
    scan_run_id        TEXT NOT NULL REFERENCES scan_runs(id) ON DELETE CASCADE,
    seq                INTEGER NOT NULL,           -- order within the run
    tool               TEXT NOT NULL,
    region             TEXT NOT NULL DEFAULT '',   -- AWS region, GCP project, Azure subscription
    target             TEXT NOT NULL DEFAULT '',   -- network, web and container scans
    status             TEXT NOT NULL,              -- queued, running, completed, failed, cancelled
    attempts           INTEGER NOT NULL DEFAULT 0,
    river_job_id       BIGINT,
    worker_id          TEXT NOT NULL DEFAULT '',
    started_at         TIMESTAMPTZ,
    finished_at        TIMESTAMPTZ,
    heartbeat_at       TIMESTAMPTZ,
    items_read         INTEGER NOT NULL DEFAULT 0,
    findings_created   INTEGER NOT NULL DEFAULT 0,
    findings_updated   INTEGER NOT NULL DEFAULT 0,
    findings_unchanged INTEGER NOT NULL DEFAULT 0,
    findings_resolved  INTEGER NOT NULL DEFAULT 0,
    by_severity        TEXT NOT NULL DEFAULT '{}',
    artifact_ref       TEXT NOT NULL DEFAULT '',
    artifact_bytes     BIGINT NOT NULL DEFAULT 0,
    exit_code          INTEGER,
    error              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sub_jobs_run ON sub_jobs(scan_run_id, seq);
CREATE INDEX sub_jobs_finished ON sub_jobs(finished_at) WHERE artifact_ref <> '';

-- Scheduled scans of an account: daily or weekly at an hour (UTC).
CREATE TABLE scan_schedules (
    id               TEXT PRIMARY KEY,
    team_id          TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    tools            TEXT NOT NULL,               -- JSON array
    regions          TEXT NOT NULL DEFAULT '[]',  -- JSON array; empty: the account's
    frequency        TEXT NOT NULL,               -- daily, weekly
    weekday          INTEGER NOT NULL DEFAULT 0,  -- 0 = Sunday, weekly only
    hour             INTEGER NOT NULL,            -- 0-23 UTC
    enabled          BOOLEAN NOT NULL DEFAULT true,
    next_run_at      TIMESTAMPTZ NOT NULL,
    last_run_at      TIMESTAMPTZ,
    last_scan_run_id TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX scan_schedules_due ON scan_schedules(enabled, next_run_at);
CREATE INDEX scan_schedules_team ON scan_schedules(team_id, account_id);

-- cspm:team-isolation scan_runs, sub_jobs, scan_schedules
