-- Progress of running imports and scans, written from outside their own
-- transaction (a running import's rows are invisible until it commits).
CREATE TABLE job_progress (
    scan_id    TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL,
    items_read INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- cspm:team-isolation job_progress
