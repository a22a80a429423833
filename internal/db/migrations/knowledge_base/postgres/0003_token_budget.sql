-- Per-team monthly token budget (issue 18): the budget is a provider
-- setting (0: unlimited); usage is what the chat provider reported, summed
-- per team and calendar month (UTC, "2026-12").
ALTER TABLE kb_settings ADD COLUMN monthly_token_budget BIGINT NOT NULL DEFAULT 0;

CREATE TABLE kb_token_usage (
    team_id       TEXT NOT NULL,
    month         TEXT NOT NULL,
    input_tokens  BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    requests      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, month)
);

-- cspm:team-isolation kb_token_usage
