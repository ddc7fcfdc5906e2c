-- M5: invite codes. A code lets whoever holds it join its conversation while it is not revoked, not expired and not
-- used up; uses are counted in the single writer's transaction, so concurrent joins never pass max_uses.
CREATE TABLE conversation_invites (
    code            TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    created_by      TEXT NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    max_uses        INTEGER CHECK (max_uses > 0),
    uses            INTEGER NOT NULL DEFAULT 0,
    revoked_at      INTEGER
);
CREATE INDEX ix_conversation_invites_conversation ON conversation_invites (conversation_id, created_at);
