-- Progress of running imports and scans, written from outside their own
-- transaction (a running import's rows are invisible until it commits).
CREATE TABLE job_progress (
    scan_id    TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL,
    items_read INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE job_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_progress FORCE ROW LEVEL SECURITY;
CREATE POLICY team_isolation ON job_progress
    USING (team_id = current_setting('cspm.team_id', true) OR current_setting('cspm.scope', true) = 'system')
    WITH CHECK (team_id = current_setting('cspm.team_id', true) OR current_setting('cspm.scope', true) = 'system');
