-- Parley's system of record. Field lists follow the reference schemas where they apply.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX ix_refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE conversations (
    id               uuid PRIMARY KEY,
    type             text NOT NULL CHECK (type IN ('direct', 'group', 'channel', 'broadcast')),
    title            text,
    status           text NOT NULL CHECK (status IN ('active', 'archived', 'blocked')),
    direct_key       text UNIQUE,
    created_by       uuid NOT NULL REFERENCES users(id),
    created_at       timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    last_sequence    bigint NOT NULL DEFAULT 0,
    last_message_id  uuid
);

CREATE TABLE participants (
    conversation_id    uuid NOT NULL REFERENCES conversations(id),
    user_id            uuid NOT NULL REFERENCES users(id),
    role               text NOT NULL CHECK (role IN ('owner', 'admin', 'moderator', 'member')),
    joined_at          timestamptz NOT NULL,
    last_delivered_seq bigint NOT NULL DEFAULT 0,
    last_read_seq      bigint NOT NULL DEFAULT 0,
    unread_count       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX ix_participants_user ON participants(user_id);

CREATE TABLE messages (
    id                uuid PRIMARY KEY,
    conversation_id   uuid NOT NULL REFERENCES conversations(id),
    sequence          bigint NOT NULL,
    sender_id         uuid NOT NULL,
    type              text NOT NULL,
    content           text NOT NULL,
    metadata          json,
    client_message_id text,
    idempotency_key   text NOT NULL UNIQUE,
    content_hash      char(64) NOT NULL,
    size              integer NOT NULL,
    correlation_id    uuid NOT NULL,
    accepted_at       timestamptz NOT NULL,
    stored_at         timestamptz NOT NULL,
    UNIQUE (conversation_id, sequence)
);
