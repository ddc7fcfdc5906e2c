-- M4: what a group, channel or broadcast says about itself, and whether a channel can be found and joined by anyone.
-- Existing conversations stay private with no details.
ALTER TABLE conversations ADD COLUMN description text;
ALTER TABLE conversations ADD COLUMN avatar_url text;
ALTER TABLE conversations ADD COLUMN metadata json;
ALTER TABLE conversations ADD COLUMN visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public'));
-- Channel search walks only public channels, newest activity first.
CREATE INDEX ix_conversations_public_channels ON conversations (last_activity_at DESC, id DESC) WHERE type = 'channel' AND visibility = 'public';
