-- What an import opened, for a pipeline's gate (cspm import --fail-on):
-- findings it created or reopened as open failures, by severity, and the
-- occurrences of KEV vulnerabilities it opened; and how many repeated items
-- of the report it folded into their finding.
ALTER TABLE scan_results ADD COLUMN opened_by_severity TEXT NOT NULL DEFAULT '{}';
ALTER TABLE scan_results ADD COLUMN kev_opened INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scan_results ADD COLUMN duplicates_folded INTEGER NOT NULL DEFAULT 0;
