-- The transactional outbox (E1): every committed change's event, written in the change's own transaction.
-- SQLite has one writer, so position order is commit order and a consumer's cursor is just a position.
-- No AUTOINCREMENT: it costs a write to sqlite_sequence per event on the persist hot path. A rowid is reused only
-- after the newest rows are deleted, and nothing deletes events.
CREATE TABLE domain_events (
    position INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    correlation_id TEXT NOT NULL,
    causation_id TEXT,
    user_id TEXT,
    occurred_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT
);
-- Where each outbox consumer has got to.
CREATE TABLE event_checkpoints (
    consumer TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
