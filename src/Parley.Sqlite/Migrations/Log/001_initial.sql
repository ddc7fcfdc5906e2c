-- The embedded durable log: entries per partition (state 0 ready, 1 acknowledged, 2 dead-lettered) and dead letters.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    partition INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payload BLOB NOT NULL,
    appended_at INTEGER NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0,
    state INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_entries_idempotency ON entries(idempotency_key);
CREATE INDEX ix_entries_ready ON entries(partition, id) WHERE state = 0;
CREATE INDEX ix_entries_message ON entries(message_id);
CREATE INDEX ix_entries_acked ON entries(appended_at) WHERE state = 1;
CREATE TABLE dead_letters (
    entry_id INTEGER PRIMARY KEY,
    partition INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    error_type TEXT NOT NULL,
    error_message TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    dead_at INTEGER NOT NULL,
    payload BLOB NOT NULL
);
