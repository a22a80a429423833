-- The longest an API token of the team may live, in days: ADMIN sets it
-- (PATCH /api/v1/team); 366 is the platform's own ceiling.
ALTER TABLE teams ADD COLUMN max_token_days INTEGER NOT NULL DEFAULT 90;
