-- P5: push targets. A provider token (or Web Push subscription) is one device, whoever registered it last; the
-- recipients query goes from a conversation's participants to their devices by user.
CREATE TABLE push_devices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    platform   TEXT NOT NULL,
    token      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_push_devices_token ON push_devices (platform, token);
CREATE INDEX ix_push_devices_user ON push_devices (user_id);
