-- M8: scheduled sends. The checked send request waits here as JSON until its time; the release loop claims due rows
-- (claimed_by / claimed_until, FOR UPDATE SKIP LOCKED, so nodes never release one row at once) and marks each sent with
-- the message it became.
CREATE TABLE scheduled_messages (
    id                uuid PRIMARY KEY,
    conversation_id   uuid NOT NULL REFERENCES conversations(id),
    sender_id         uuid NOT NULL REFERENCES users(id),
    send_at           timestamptz NOT NULL,
    client_message_id text,
    request           text NOT NULL,
    status            text NOT NULL,
    created_at        timestamptz NOT NULL,
    claimed_by        text,
    claimed_until     timestamptz,
    message_id        uuid,
    failure_reason    text,
    finished_at       timestamptz
);
-- A client message id schedules once per sender and conversation (NULLs are distinct: no id, no folding).
CREATE UNIQUE INDEX ux_scheduled_client_id ON scheduled_messages (sender_id, conversation_id, client_message_id);
CREATE INDEX ix_scheduled_due ON scheduled_messages (send_at, id) WHERE status = 'scheduled';
CREATE INDEX ix_scheduled_pending ON scheduled_messages (sender_id, conversation_id, send_at, id) WHERE status = 'scheduled';
