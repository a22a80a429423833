-- The external ID an assume_role account's trust policy must require. The
-- platform chooses it, per team and account, so that one team cannot name
-- another's (AWS's confused-deputy defence). Not a secret: it is shown to
-- the user for the trust policy. Empty for accounts registered before, whose
-- sealed credentials keep the ID their user chose.
ALTER TABLE cloud_accounts ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
