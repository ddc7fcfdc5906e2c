-- M2 search and M3 friends and blocks.
-- display_name_key is the display name folded by SearchRules.Fold (NFD, marks dropped, lower-cased), compared by
-- prefix as a range (BINARY collation is byte order, so an index range). SQL folds only what it can fold the same
-- way: plain ASCII names, whose fold is lower(). The rest are filled at start by the store's idempotent backfill.
ALTER TABLE users ADD COLUMN display_name_key TEXT;
UPDATE users SET display_name_key = lower(display_name) WHERE display_name NOT GLOB '*[^ -~]*';
CREATE INDEX ix_users_display_name_key ON users (display_name_key);

-- Only pending requests are rows; the pair (in SocialRules.Pair order) is unique, so there is never more than one
-- between two users, whichever way it goes.
CREATE TABLE friend_requests (
    id TEXT PRIMARY KEY,
    sender_id TEXT NOT NULL REFERENCES users(id),
    recipient_id TEXT NOT NULL REFERENCES users(id),
    user_low TEXT NOT NULL,
    user_high TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (user_low, user_high)
);
CREATE INDEX ix_friend_requests_sender ON friend_requests (sender_id);
CREATE INDEX ix_friend_requests_recipient ON friend_requests (recipient_id);

CREATE TABLE friendships (
    user_low TEXT NOT NULL REFERENCES users(id),
    user_high TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_low, user_high)
);
CREATE INDEX ix_friendships_high ON friendships (user_high);

CREATE TABLE user_blocks (
    blocker_id TEXT NOT NULL REFERENCES users(id),
    blocked_id TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX ix_user_blocks_blocked ON user_blocks (blocked_id);
