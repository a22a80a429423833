-- Raw OCSF is packed with S2 by the importer (as on SQLite) and stored as
-- bytea that PostgreSQL neither compresses again nor keeps inline: an
-- import writes a fifth of the bytes to the heap, TOAST and WAL. Rows
-- written before stay plain JSON, which the reader recognizes.
ALTER TABLE finding_raw ALTER COLUMN raw TYPE bytea USING convert_to(raw, 'UTF8');
ALTER TABLE finding_raw ALTER COLUMN raw SET STORAGE EXTERNAL;
