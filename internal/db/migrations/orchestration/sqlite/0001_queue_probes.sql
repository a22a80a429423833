-- One row per queue_probe job worked: proves end to end that workers take
-- jobs from the queue, and which worker took each one (see `cspm queue probe`).
CREATE TABLE queue_probes (
    job_id       INTEGER PRIMARY KEY,
    worker_id    TEXT NOT NULL,
    completed_at TIMESTAMP NOT NULL
);
