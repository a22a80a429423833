-- Compliance (internal/compliance): the registry of frameworks, mapping
-- sets, SCF crosswalks and scanner check maps is global content shared by
-- every team; the engine's results, snapshots, sync status and attestations
-- are per team. The link tables are derived from the content whenever it
-- changes (see compliance.relink) and read by the engine.
CREATE TABLE compliance_content_state (
    id      INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO compliance_content_state (id, version) VALUES (1, 0);

CREATE TABLE compliance_frameworks (
    id               TEXT PRIMARY KEY,
    urn              TEXT NOT NULL UNIQUE,
    ref_id           TEXT NOT NULL DEFAULT '',
    family           TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    version          TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL DEFAULT '',  -- SCF workbook, framework library, prowler
    provider         TEXT NOT NULL DEFAULT '',
    copyright        TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    library_urn      TEXT NOT NULL DEFAULT '',
    node_count       INTEGER NOT NULL,
    assessable_count INTEGER NOT NULL,
    domain_count     INTEGER NOT NULL,
    content_hash     TEXT NOT NULL,
    loaded_at        TIMESTAMP NOT NULL,
    loaded_by        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE compliance_nodes (
    urn           TEXT PRIMARY KEY,
    framework_id  TEXT NOT NULL REFERENCES compliance_frameworks(id) ON DELETE CASCADE,
    parent_urn    TEXT NOT NULL DEFAULT '',
    ref_id        TEXT NOT NULL DEFAULT '',
    node_key      TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    question      TEXT NOT NULL DEFAULT '',
    assessable    BOOLEAN NOT NULL,
    depth         INTEGER NOT NULL,
    ord           INTEGER NOT NULL,
    weight        REAL NOT NULL DEFAULT 0,
    extra         TEXT NOT NULL DEFAULT '{}'   -- JSON: implementation groups, PPTDF, cadence, maturity criteria
);
CREATE INDEX compliance_nodes_framework ON compliance_nodes(framework_id, ord);

CREATE TABLE compliance_mapping_sets (
    id                   TEXT PRIMARY KEY,
    urn                  TEXT NOT NULL UNIQUE,
    ref_id               TEXT NOT NULL DEFAULT '',
    name                 TEXT NOT NULL,
    version              TEXT NOT NULL DEFAULT '',
    source               TEXT NOT NULL DEFAULT '',
    copyright            TEXT NOT NULL DEFAULT '',
    library_urn          TEXT NOT NULL DEFAULT '',
    source_framework_urn TEXT NOT NULL,
    target_framework_urn TEXT NOT NULL,
    mapping_count        INTEGER NOT NULL,
    content_hash         TEXT NOT NULL,
    loaded_at            TIMESTAMP NOT NULL,
    loaded_by            TEXT NOT NULL DEFAULT ''
);

CREATE TABLE compliance_mappings (
    set_id       TEXT NOT NULL REFERENCES compliance_mapping_sets(id) ON DELETE CASCADE,
    source_urn   TEXT NOT NULL,
    target_urn   TEXT NOT NULL,
    relationship TEXT NOT NULL,
    strength     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX compliance_mappings_set ON compliance_mappings(set_id);

-- One SCF workbook crosswalk cell line: SCF control -> another framework's reference.
CREATE TABLE compliance_crosswalks (
    framework_id TEXT NOT NULL REFERENCES compliance_frameworks(id) ON DELETE CASCADE,
    column_name  TEXT NOT NULL,
    family       TEXT NOT NULL DEFAULT '',
    target_name  TEXT NOT NULL DEFAULT '',
    scf_urn      TEXT NOT NULL,
    target_ref   TEXT NOT NULL,
    target_key   TEXT NOT NULL
);
CREATE INDEX compliance_crosswalks_framework ON compliance_crosswalks(framework_id);

CREATE TABLE compliance_check_maps (
    id            TEXT PRIMARY KEY,
    tool          TEXT NOT NULL,
    framework     TEXT NOT NULL,
    family        TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL DEFAULT '',
    version       TEXT NOT NULL DEFAULT '',
    provider      TEXT NOT NULL DEFAULT '',
    framework_id  TEXT NOT NULL DEFAULT '',   -- the framework this map's requirements were stored as
    requirement_count INTEGER NOT NULL,
    check_count   INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    loaded_at     TIMESTAMP NOT NULL,
    loaded_by     TEXT NOT NULL DEFAULT '',
    UNIQUE (tool, framework, version, provider)
);

CREATE TABLE compliance_check_map_entries (
    map_id   TEXT NOT NULL REFERENCES compliance_check_maps(id) ON DELETE CASCADE,
    tool     TEXT NOT NULL,
    check_id TEXT NOT NULL,
    family   TEXT NOT NULL,
    node_key TEXT NOT NULL,
    ref_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX compliance_check_map_entries_map ON compliance_check_map_entries(map_id);

-- Derived: which SCF controls a scanner check reaches, and how.
CREATE TABLE compliance_check_links (
    tool      TEXT NOT NULL,
    check_id  TEXT NOT NULL,
    scf_urn   TEXT NOT NULL,
    coverage  TEXT NOT NULL,                  -- full, partial
    via       TEXT NOT NULL,
    PRIMARY KEY (tool, check_id, scf_urn)
);
CREATE INDEX compliance_check_links_scf ON compliance_check_links(scf_urn);

-- Derived: which SCF controls a framework requirement maps to.
CREATE TABLE compliance_node_links (
    node_urn TEXT NOT NULL,
    scf_urn  TEXT NOT NULL,
    coverage TEXT NOT NULL,
    via      TEXT NOT NULL,
    PRIMARY KEY (node_urn, scf_urn)
);

-- Per team: the engine's result for each SCF control.
CREATE TABLE compliance_control_results (
    team_id        TEXT NOT NULL,
    scf_urn        TEXT NOT NULL,
    status         TEXT NOT NULL,           -- passing, failing, partial, not_assessed, manual
    score          REAL,        -- NULL when not assessed
    passed         INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    muted          INTEGER NOT NULL,
    manual         INTEGER NOT NULL,
    attested       BOOLEAN NOT NULL DEFAULT false,
    evidence       TEXT NOT NULL DEFAULT '[]',  -- JSON: per check counts and newest scan
    last_scan_id   TEXT NOT NULL DEFAULT '',
    last_scan_at   TIMESTAMP,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, scf_urn)
);

-- Per team and UTC day: every score the engine rolled up (overall, per
-- framework, per domain); today's row is replaced by each sync.
CREATE TABLE compliance_scores (
    team_id      TEXT NOT NULL,
    day          TEXT NOT NULL,               -- YYYY-MM-DD
    scope        TEXT NOT NULL,               -- overall, framework, domain
    scope_id     TEXT NOT NULL,               -- '' for overall; framework ID; domain node URN
    score        REAL,
    counts       TEXT NOT NULL DEFAULT '{}',  -- JSON: requirements or controls by status
    PRIMARY KEY (team_id, day, scope, scope_id)
);

CREATE TABLE compliance_sync_status (
    team_id           TEXT PRIMARY KEY,
    last_full_at      TIMESTAMP,
    last_incremental_at TIMESTAMP,
    duration_ms       BIGINT NOT NULL DEFAULT 0,
    controls_touched  INTEGER NOT NULL DEFAULT 0,
    content_version   BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT NOT NULL DEFAULT '',
    updated_at        TIMESTAMP NOT NULL
);

CREATE TABLE compliance_attestations (
    id              TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL,
    scf_urn         TEXT NOT NULL,
    statement       TEXT NOT NULL,
    owner           TEXT NOT NULL DEFAULT '',
    evidence_key    TEXT NOT NULL DEFAULT '',
    evidence_name   TEXT NOT NULL DEFAULT '',
    evidence_size   BIGINT NOT NULL DEFAULT 0,
    evidence_sha256 TEXT NOT NULL DEFAULT '',
    expires_at      TIMESTAMP NOT NULL,
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX compliance_attestations_team ON compliance_attestations(team_id, scf_urn);

