-- M5: each member's own settings for a conversation. A mute lasts until muted_until, or indefinitely when that is
-- NULL; pinned_at is when it was pinned (NULL: not pinned). Existing members start unmuted, unpinned, not archived.
-- Constant defaults: PostgreSQL adds these columns without rewriting the table.
ALTER TABLE participants ADD COLUMN muted boolean NOT NULL DEFAULT false;
ALTER TABLE participants ADD COLUMN muted_until timestamptz;
ALTER TABLE participants ADD COLUMN pinned_at timestamptz;
ALTER TABLE participants ADD COLUMN archived boolean NOT NULL DEFAULT false;
