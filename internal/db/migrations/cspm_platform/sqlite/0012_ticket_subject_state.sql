-- Two-way ticket sync (internal/notify ticketsync.go): the state of the
-- ticket's subject (finding or vulnerability) as the platform last synced it,
-- open or closed. The sync acts on a change of the subject against this, not
-- on the ticket's own state, so a ticket its system reopened is not closed
-- again by the platform (and a change a webhook caused is recorded here
-- without going back out).
ALTER TABLE tickets ADD COLUMN subject_state TEXT NOT NULL DEFAULT 'open';
-- Why the last sync of the ticket failed; empty when it went through.
ALTER TABLE tickets ADD COLUMN sync_error TEXT NOT NULL DEFAULT '';
