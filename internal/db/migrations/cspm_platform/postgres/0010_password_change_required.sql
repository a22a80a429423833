-- A one-time password (the bootstrap admin's, one an admin generated or
-- reset) must be replaced at the first sign-in: until then only the user's
-- own account routes answer.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
