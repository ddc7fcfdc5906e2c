-- M7, M8, M9: replies and threads, forwards, mentions, edits, deletes, reactions, pins (docs/architecture.md, "Changes to messages").
-- A reply keeps what it shows of the message it answers (sender, start of the content), kept current by edits and
-- erased by a delete; the reactions column is the per-key count read model the persist planner keeps beside the rows.
ALTER TABLE messages ADD COLUMN reply_to TEXT;
ALTER TABLE messages ADD COLUMN reply_sender_id TEXT;
ALTER TABLE messages ADD COLUMN reply_preview TEXT;
ALTER TABLE messages ADD COLUMN thread_root_id TEXT;
ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edit_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_by TEXT;
ALTER TABLE messages ADD COLUMN reactions TEXT;
ALTER TABLE messages ADD COLUMN pinned_at INTEGER;
ALTER TABLE messages ADD COLUMN pinned_by TEXT;
ALTER TABLE messages ADD COLUMN forwarded_from_id TEXT;
ALTER TABLE messages ADD COLUMN forwarded_from_conversation_id TEXT;
ALTER TABLE messages ADD COLUMN forwarded_from_sender_id TEXT;
-- Mentions: a JSON array of the mentioned members' ids; each member's unread mentions counted as unread_count is.
ALTER TABLE messages ADD COLUMN mentions TEXT;
ALTER TABLE participants ADD COLUMN unread_mentions INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_messages_pins ON messages (conversation_id, pinned_at) WHERE pinned_at IS NOT NULL;
CREATE INDEX ix_messages_thread ON messages (thread_root_id, sequence) WHERE thread_root_id IS NOT NULL;
CREATE INDEX ix_messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;

-- Each conversation's changes in order: a device that missed some asks for those after its last change position.
ALTER TABLE conversations ADD COLUMN last_change_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE message_changes (
    conversation_id TEXT NOT NULL,
    change_seq      INTEGER NOT NULL,
    id              TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    reason          TEXT,
    reaction_key    TEXT,
    added  INTEGER NOT NULL DEFAULT 0,
    reaction_count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, change_seq)
);
CREATE INDEX ix_message_changes_message ON message_changes (message_id);

CREATE TABLE message_edits (
    message_id       TEXT NOT NULL REFERENCES messages(id),
    edit_no          INTEGER NOT NULL,
    previous_content TEXT NOT NULL,
    previous_hash    TEXT NOT NULL,
    reason           TEXT,
    editor_id        TEXT NOT NULL,
    edited_at        INTEGER NOT NULL,
    PRIMARY KEY (message_id, edit_no)
);

CREATE TABLE reactions (
    message_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, key, user_id)
);
CREATE INDEX ix_reactions_user ON reactions (message_id, user_id);

-- Delete for me: the message stays for everyone else.
CREATE TABLE hidden_messages (
    user_id         TEXT NOT NULL REFERENCES users(id),
    message_id      TEXT NOT NULL REFERENCES messages(id),
    conversation_id TEXT NOT NULL,
    hidden_at       INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

-- Disappearing messages (M8): each message's expiry (the sender's or the conversation's TTL, whichever is sooner); the
-- expiry worker reads the due ones in expiry order and deletes them for everyone through the log.
ALTER TABLE messages ADD COLUMN expires_at INTEGER;
CREATE INDEX ix_messages_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL AND deleted_at IS NULL;
ALTER TABLE conversations ADD COLUMN message_ttl_seconds INTEGER;

-- Polls (M9): the definition and per-option counts on the message row (a read model of poll_votes, kept by the persist
-- planner with each vote), one row per voter and chosen option; a vote change's options on its change row.
ALTER TABLE messages ADD COLUMN poll TEXT;
ALTER TABLE message_changes ADD COLUMN option_ids TEXT;
CREATE TABLE poll_votes (
    message_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    option_id  INTEGER NOT NULL,
    voted_at   INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, option_id)
);
