-- The findings part of BIA analytics (what the scanners found on each
-- process's dependencies), computed in the background after a change and
-- kept per team with the state it was computed for (the findings and
-- vulnerability stores' data versions and the analyses' state key): every
-- API process serves it without a pass over the findings, and says how old
-- it is while a newer one is being computed.
CREATE TABLE bia_exposure (
    team_id     TEXT PRIMARY KEY,
    state_key   TEXT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL,
    duration_ms INTEGER NOT NULL,
    data        TEXT NOT NULL
);
-- cspm:team-isolation bia_exposure
