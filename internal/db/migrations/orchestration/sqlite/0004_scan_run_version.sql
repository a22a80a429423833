-- A run's version, raised by every refresh of its status. The run is
-- mirrored into the unified history after its transaction commits (never
-- inside it: see docs/architecture.md), so two mirrors may arrive out of
-- order; the history keeps the higher version.
ALTER TABLE scan_runs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
