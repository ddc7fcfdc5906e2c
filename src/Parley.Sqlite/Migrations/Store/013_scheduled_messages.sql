-- M8: scheduled sends. The checked send request waits here as JSON until its time; the release loop claims due rows
-- (claimed_by / claimed_until, so nodes never release one row at once) and marks each sent with the message it became.
CREATE TABLE scheduled_messages (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL REFERENCES conversations(id),
    sender_id         TEXT NOT NULL REFERENCES users(id),
    send_at           INTEGER NOT NULL,
    client_message_id TEXT,
    request           TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    claimed_by        TEXT,
    claimed_until     INTEGER,
    message_id        TEXT,
    failure_reason    TEXT,
    finished_at       INTEGER
);
-- A client message id schedules once per sender and conversation (NULLs are distinct: no id, no folding).
CREATE UNIQUE INDEX ux_scheduled_client_id ON scheduled_messages (sender_id, conversation_id, client_message_id);
CREATE INDEX ix_scheduled_due ON scheduled_messages (send_at, id) WHERE status = 'scheduled';
CREATE INDEX ix_scheduled_pending ON scheduled_messages (sender_id, conversation_id, send_at, id) WHERE status = 'scheduled';
