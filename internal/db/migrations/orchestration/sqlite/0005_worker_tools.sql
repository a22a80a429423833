-- What each worker process found of the scanners on its machine: written
-- at its start and every minute. An API process that runs no workers checks
-- a scan's tools against the workers that reported recently.
CREATE TABLE worker_tools (
    worker_id   TEXT NOT NULL,
    tool        TEXT NOT NULL,
    found       INTEGER NOT NULL,
    problem     TEXT NOT NULL DEFAULT '',
    reported_at TIMESTAMP NOT NULL,
    PRIMARY KEY (worker_id, tool)
);
