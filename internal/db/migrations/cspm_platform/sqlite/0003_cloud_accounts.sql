-- Cloud accounts a team scans. Credentials are sealed with AES-256-GCM
-- (internal/secrets) bound to the account's ID; only the worker that runs a
-- scan opens them. credential_hint is a non-secret reminder (the access key
-- ID's last four characters, the client ID) for the UI.
CREATE TABLE cloud_accounts (
    id               TEXT PRIMARY KEY,
    team_id          TEXT NOT NULL,
    provider         TEXT NOT NULL,              -- aws, gcp, azure
    account_uid      TEXT NOT NULL,              -- AWS account ID, GCP project, Azure subscription
    alias            TEXT NOT NULL DEFAULT '',
    regions          TEXT NOT NULL DEFAULT '[]', -- JSON array
    tags             TEXT NOT NULL DEFAULT '{}', -- JSON object
    credential_type  TEXT NOT NULL,              -- access_keys, assume_role, worker_identity, service_account, client_secret
    credentials      TEXT NOT NULL DEFAULT '',   -- sealed JSON
    credential_hint  TEXT NOT NULL DEFAULT '',
    last_test_at     TIMESTAMP,
    last_test_ok     INTEGER,
    last_test_detail TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (team_id, provider, account_uid)
);
