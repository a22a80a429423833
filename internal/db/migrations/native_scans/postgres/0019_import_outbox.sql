-- The import outbox (internal/findings outbox.go): written in an import's own
-- transaction, so that what must follow a committed import (notifications of
-- what it opened, the two-way ticket sync) is neither lost when the process
-- dies after the commit nor sent for an import that rolled back. The
-- imports' job drains its row after the commit; a periodic job drains rows
-- a dead process left.
CREATE TABLE import_outbox (
    team_id    TEXT NOT NULL,
    scan_id    TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}', -- JSON: findings.OutboxEntry, what the work after the commit needs
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, scan_id)
);
CREATE INDEX import_outbox_created ON import_outbox(created_at);

-- cspm:team-isolation import_outbox
