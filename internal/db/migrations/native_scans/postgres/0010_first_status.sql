-- A finding's first history entry ("new", in its first scan, at its first
-- sighting) is read from the finding itself: the status it was created
-- with is kept here and the import no longer writes a finding_history row
-- for every new finding (100,000 rows in a first import of 100,000). Rows
-- stored before have '' and their "new" entry in finding_history.
ALTER TABLE findings ADD COLUMN first_status TEXT NOT NULL DEFAULT '';
