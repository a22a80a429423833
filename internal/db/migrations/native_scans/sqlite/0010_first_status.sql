-- A finding's first history entry is read from the finding itself (see
-- PostgreSQL's 0010).
ALTER TABLE findings ADD COLUMN first_status TEXT NOT NULL DEFAULT '';
