-- A counter per team that every write to its findings bumps in the same
-- transaction: list totals and facet counts are cached under it (see
-- internal/listcache), so a cached count is never one a write has changed.
CREATE TABLE findings_data_versions (
    scope   TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
