-- E5: webhook subscriptions (server admins manage them) and the queue of their deliveries. The outbox consumer
-- enqueues one row per subscription and event on every node (the unique key folds the repeats); the dispatcher
-- claims rows (claimed_by / claimed_until, FOR UPDATE SKIP LOCKED) and sends the oldest pending row of each
-- (subscription, aggregate) only, in outbox order (order_tx, order_pos), so one aggregate's events arrive in order.
CREATE TABLE webhook_subscriptions (
    id                   uuid PRIMARY KEY,
    url                  text NOT NULL,
    event_types          text[] NOT NULL,
    secret               text NOT NULL,
    enabled              boolean NOT NULL,
    description          text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_at          timestamptz
);
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    subscription_id  uuid NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    aggregate_id     text NOT NULL,
    order_tx         bigint NOT NULL,
    order_pos        bigint NOT NULL,
    payload          text NOT NULL,
    status           text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_status_code integer,
    last_error       text,
    error_type       text,
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    dead_at          timestamptz,
    replays          integer NOT NULL DEFAULT 0,
    claimed_by       text,
    claimed_until    timestamptz
);
CREATE UNIQUE INDEX ux_webhook_deliveries_event ON webhook_deliveries (subscription_id, event_id);
CREATE INDEX ix_webhook_deliveries_head ON webhook_deliveries (subscription_id, aggregate_id, order_tx, order_pos) WHERE status = 'pending';
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (order_tx, order_pos) WHERE status = 'pending';
CREATE INDEX ix_webhook_deliveries_log ON webhook_deliveries (subscription_id, order_tx, order_pos);
CREATE INDEX ix_webhook_deliveries_dead ON webhook_deliveries (dead_at, id) WHERE status = 'failed';
