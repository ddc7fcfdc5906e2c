-- M5: invite codes. A code lets whoever holds it join its conversation while it is not revoked, not expired and not
-- used up; uses are counted under the conversation's lock, so concurrent joins never pass max_uses.
CREATE TABLE conversation_invites (
    code            text PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id),
    created_by      uuid NOT NULL REFERENCES users(id),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz,
    max_uses        integer CHECK (max_uses > 0),
    uses            integer NOT NULL DEFAULT 0,
    revoked_at      timestamptz
);
CREATE INDEX ix_conversation_invites_conversation ON conversation_invites (conversation_id, created_at);
