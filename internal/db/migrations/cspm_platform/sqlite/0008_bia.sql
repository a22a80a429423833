-- Business impact analysis (internal/bia). A process is one business
-- process or service; every change of its analysis is a version, and every
-- version is kept. The version's fields (objectives, impact grid,
-- dependencies) are one JSON document: they are read and written whole, and
-- analytics reads a team's in-force versions in one pass. revision counts
-- every write to the process and is the ETag that detects concurrent edits.
CREATE TABLE bia_processes (
    id               TEXT PRIMARY KEY,
    team_id          TEXT NOT NULL,
    latest_version   INTEGER NOT NULL,
    approved_version INTEGER NOT NULL DEFAULT 0,   -- 0: none approved yet
    revision         BIGINT NOT NULL,
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX bia_processes_team ON bia_processes(team_id);

CREATE TABLE bia_versions (
    process_id    TEXT NOT NULL REFERENCES bia_processes(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    team_id       TEXT NOT NULL,
    status        TEXT NOT NULL,            -- draft, in_review, returned, approved, superseded, archived
    name          TEXT NOT NULL,
    tier          INTEGER NOT NULL,
    data          TEXT NOT NULL,            -- JSON: bia.Record
    author_id     TEXT NOT NULL DEFAULT '',
    author_email  TEXT NOT NULL DEFAULT '',
    contributors  TEXT NOT NULL DEFAULT '', -- user IDs who wrote this version, space-separated
    submitted_by  TEXT NOT NULL DEFAULT '',
    approved_by   TEXT NOT NULL DEFAULT '',
    approved_at   TIMESTAMP,
    comment       TEXT NOT NULL DEFAULT '', -- the last transition's comment
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (process_id, version)
);
CREATE INDEX bia_versions_team ON bia_versions(team_id, status);

-- Every lifecycle transition, with its actor and comment (also audited).
CREATE TABLE bia_transitions (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL,
    process_id   TEXT NOT NULL REFERENCES bia_processes(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    revision     BIGINT NOT NULL,           -- the process revision the transition made: their order
    action       TEXT NOT NULL,
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    actor_email  TEXT NOT NULL DEFAULT '',
    comment      TEXT NOT NULL DEFAULT '',
    at           TIMESTAMP NOT NULL
);
CREATE INDEX bia_transitions_process ON bia_transitions(process_id, revision);

-- Per team: tier names, impact categories and time horizons.
CREATE TABLE bia_settings (
    team_id    TEXT PRIMARY KEY,
    data       TEXT NOT NULL,               -- JSON: bia.Settings
    updated_at TIMESTAMP NOT NULL
);
