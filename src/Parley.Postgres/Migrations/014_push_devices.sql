-- P5: push targets. A provider token (or Web Push subscription) is one device, whoever registered it last; the
-- recipients query goes from a conversation's participants to their devices by user.
CREATE TABLE push_devices (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users(id),
    platform   text NOT NULL,
    token      text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_push_devices_token ON push_devices (platform, token);
CREATE INDEX ix_push_devices_user ON push_devices (user_id);
