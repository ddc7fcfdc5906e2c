-- M5: each member's own settings for a conversation. A mute lasts until muted_until, or indefinitely when that is
-- NULL; pinned_at is when it was pinned (NULL: not pinned). Existing members start unmuted, unpinned, not archived.
ALTER TABLE participants ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN muted_until INTEGER;
ALTER TABLE participants ADD COLUMN pinned_at INTEGER;
ALTER TABLE participants ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
