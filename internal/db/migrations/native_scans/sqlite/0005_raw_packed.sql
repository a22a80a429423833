-- PostgreSQL's finding_raw became packed bytea (see its 0005); SQLite has
-- stored packed BLOBs since the start.
SELECT 1;
