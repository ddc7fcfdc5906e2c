-- P5: the embedded engine's push queue, in a file of its own (push.db) so its writes never wait behind the message
-- log's group commit. `open` marks the one job per device that later messages may still fold into; a claim closes it.
CREATE TABLE push_jobs (
    id              TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL,
    payload         BLOB NOT NULL,
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    replays         INTEGER NOT NULL DEFAULT 0,
    open            INTEGER NOT NULL DEFAULT 1,
    last_error_type TEXT,
    last_error      TEXT
);
CREATE INDEX ix_push_jobs_due ON push_jobs (due_at);
CREATE UNIQUE INDEX ux_push_jobs_open ON push_jobs (device_id) WHERE open = 1;
CREATE TABLE push_dead_letters (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    payload    BLOB NOT NULL,
    attempts   INTEGER NOT NULL,
    replays    INTEGER NOT NULL,
    error_type TEXT NOT NULL,
    error      TEXT NOT NULL,
    dead_at    INTEGER NOT NULL
);
CREATE INDEX ix_push_dead_letters_at ON push_dead_letters (dead_at DESC, id DESC);
