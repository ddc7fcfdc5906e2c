-- M9: reported messages and their moderation. A reporter has at most one open report per message (the partial unique
-- index); a resolution closes every open report on the message at once. The message row outlives a delete for
-- everyone as a tombstone, so a report keeps pointing at it.
CREATE TABLE reports (
    id              uuid PRIMARY KEY,
    message_id      uuid NOT NULL REFERENCES messages(id),
    conversation_id uuid NOT NULL REFERENCES conversations(id),
    reporter_id     uuid NOT NULL REFERENCES users(id),
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL,
    status          text NOT NULL,
    resolved_by     uuid REFERENCES users(id),
    resolved_at     timestamptz,
    action          text
);
CREATE UNIQUE INDEX ux_reports_open_per_reporter ON reports (message_id, reporter_id) WHERE status = 'open';
CREATE INDEX ix_reports_queue ON reports (status, created_at DESC, id DESC);
CREATE INDEX ix_reports_conversation ON reports (conversation_id, status, created_at DESC, id DESC);
