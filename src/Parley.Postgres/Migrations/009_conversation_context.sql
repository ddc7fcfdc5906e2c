-- M4 (seed 01): what a conversation is about, and who speaks for which side. context_key makes "get or create the
-- conversation for this context and these members" one row however often and concurrently it is asked; every message
-- keeps its sender's side as it was when stored, for response-time analytics.
ALTER TABLE conversations ADD COLUMN context_type text CHECK (context_type IN ('BOOKING', 'SERVICE', 'GENERAL', 'SUPPORT'));
ALTER TABLE conversations ADD COLUMN context_id text;
ALTER TABLE conversations ADD COLUMN context_metadata json;
ALTER TABLE conversations ADD COLUMN context_key text;
CREATE UNIQUE INDEX conversations_context_key ON conversations (context_key) WHERE context_key IS NOT NULL;
CREATE INDEX ix_conversations_context ON conversations (context_type, context_id) WHERE context_type IS NOT NULL;
ALTER TABLE participants ADD COLUMN side text CHECK (side IN ('customer', 'provider', 'agent'));
ALTER TABLE messages ADD COLUMN sender_side text;
