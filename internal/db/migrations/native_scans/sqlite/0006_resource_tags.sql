-- A finding's resource tags ("|key=value|key2|", lowercased, between '|'
-- delimiters so a rule's tag matches with one LIKE), and the tag criterion
-- of mute rules ("key=value", or "key" for any value).
ALTER TABLE findings ADD COLUMN resource_tags TEXT NOT NULL DEFAULT '';
ALTER TABLE mute_rules ADD COLUMN tag TEXT NOT NULL DEFAULT '';
