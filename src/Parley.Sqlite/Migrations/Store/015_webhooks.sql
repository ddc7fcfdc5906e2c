-- E5: webhook subscriptions (server admins manage them) and the queue of their deliveries. The outbox consumer
-- enqueues one row per subscription and event on every node (the unique key folds the repeats); the dispatcher
-- claims rows (claimed_by / claimed_until) and sends the oldest pending row of each (subscription, aggregate) only,
-- in outbox order (order_tx, order_pos), so one aggregate's events arrive in order.
CREATE TABLE webhook_subscriptions (
    id                   TEXT PRIMARY KEY,
    url                  TEXT NOT NULL,
    event_types          TEXT NOT NULL,
    secret               TEXT NOT NULL,
    enabled              INTEGER NOT NULL,
    description          TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    disabled_at          INTEGER
);
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    aggregate_id     TEXT NOT NULL,
    order_tx         INTEGER NOT NULL,
    order_pos        INTEGER NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    error_type       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    dead_at          INTEGER,
    replays          INTEGER NOT NULL DEFAULT 0,
    claimed_by       TEXT,
    claimed_until    INTEGER
);
CREATE UNIQUE INDEX ux_webhook_deliveries_event ON webhook_deliveries (subscription_id, event_id);
CREATE INDEX ix_webhook_deliveries_head ON webhook_deliveries (subscription_id, aggregate_id, order_tx, order_pos) WHERE status = 'pending';
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (order_tx, order_pos) WHERE status = 'pending';
CREATE INDEX ix_webhook_deliveries_log ON webhook_deliveries (subscription_id, order_tx, order_pos);
CREATE INDEX ix_webhook_deliveries_dead ON webhook_deliveries (dead_at, id) WHERE status = 'failed';
