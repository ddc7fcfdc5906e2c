-- M9: reported messages and their moderation. A reporter has at most one open report per message (the partial unique
-- index); a resolution closes every open report on the message at once. The message row outlives a delete for
-- everyone as a tombstone, so a report keeps pointing at it.
CREATE TABLE reports (
    id              TEXT PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES messages(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    reporter_id     TEXT NOT NULL REFERENCES users(id),
    reason          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL,
    resolved_by     TEXT REFERENCES users(id),
    resolved_at     INTEGER,
    action          TEXT
);
CREATE UNIQUE INDEX ux_reports_open_per_reporter ON reports (message_id, reporter_id) WHERE status = 'open';
CREATE INDEX ix_reports_queue ON reports (status, created_at DESC, id DESC);
CREATE INDEX ix_reports_conversation ON reports (conversation_id, status, created_at DESC, id DESC);
