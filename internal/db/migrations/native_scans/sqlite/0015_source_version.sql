-- The version of the ScanRun this record mirrors (0 for imports): a mirror
-- of an older version never overwrites a newer one.
ALTER TABLE scan_results ADD COLUMN source_version INTEGER NOT NULL DEFAULT 0;
