-- The transactional outbox (E1): each committed change's domain event, written in the change's own transaction.
-- position is assigned at insert, not at commit, so a reader orders by the writing transaction first and reads only
-- transactions older than every one still open (pg_snapshot_xmin): an event never appears behind a cursor that has
-- already passed it.
-- One index, the read order: every message stores an event, so each index here is paid on the ingest hot path
-- (the id is a version-7 UUID made by the writer, unique by construction, and nothing looks events up by it).
CREATE TABLE domain_events (
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    position       bigint GENERATED ALWAYS AS IDENTITY,
    id             uuid NOT NULL,
    aggregate_type text NOT NULL,
    aggregate_id   text NOT NULL,
    type           text NOT NULL,
    version        integer NOT NULL,
    correlation_id uuid NOT NULL,
    causation_id   uuid,
    user_id        uuid,
    occurred_at    timestamptz NOT NULL,
    data           json NOT NULL,
    metadata       json,
    PRIMARY KEY (transaction_id, position)
);

-- Where each outbox consumer has got to.
CREATE TABLE event_checkpoints (
    consumer       text PRIMARY KEY,
    transaction_id xid8 NOT NULL,
    position       bigint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
