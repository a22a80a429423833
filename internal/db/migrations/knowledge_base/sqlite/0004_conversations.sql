-- Conversation history per user (issue 18): each question asked with its
-- answer and citations, so that a user can reopen a conversation and a
-- follow-up question is answered with the recent turns as context.
CREATE TABLE kb_conversations (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX kb_conversations_user ON kb_conversations(team_id, user_id, updated_at);

CREATE TABLE kb_messages (
    conversation_id TEXT NOT NULL REFERENCES kb_conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    team_id         TEXT NOT NULL,
    question        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    found           BOOLEAN NOT NULL,
    citations       TEXT NOT NULL,          -- JSON: the answer's citations
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
