-- M9: what a user keeps for themselves. A bookmark names a message (and its conversation, so the list can hide the
-- conversations the user left); a draft is one per user and conversation.
CREATE TABLE bookmarks (
    user_id         TEXT NOT NULL REFERENCES users(id),
    message_id      TEXT NOT NULL REFERENCES messages(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX ix_bookmarks_user_recent ON bookmarks (user_id, created_at DESC, message_id DESC);

CREATE TABLE drafts (
    user_id         TEXT NOT NULL REFERENCES users(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    content         TEXT NOT NULL,
    metadata        TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
