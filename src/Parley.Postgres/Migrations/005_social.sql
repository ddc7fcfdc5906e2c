-- M2 search and M3 friends and blocks.
-- display_name_key is the display name folded by SearchRules.Fold (NFD, marks dropped, lower-cased), compared by
-- prefix as a byte-order range (COLLATE "C"), which these indexes serve. SQL folds only what it can fold the same
-- way: plain ASCII names, whose fold is lower() in the C collation. The rest are filled at start by the store's
-- idempotent backfill.
ALTER TABLE users ADD COLUMN display_name_key text;
UPDATE users SET display_name_key = lower(display_name COLLATE "C") WHERE display_name ~ '^[ -~]*$';
CREATE INDEX ix_users_display_name_key ON users ((display_name_key COLLATE "C"));
CREATE INDEX ix_users_username_c ON users ((username COLLATE "C"));

-- Only pending requests are rows; the pair (in SocialRules.Pair order) is unique, so there is never more than one
-- between two users, whichever way it goes.
CREATE TABLE friend_requests (
    id uuid PRIMARY KEY,
    sender_id uuid NOT NULL REFERENCES users(id),
    recipient_id uuid NOT NULL REFERENCES users(id),
    user_low uuid NOT NULL,
    user_high uuid NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT friend_requests_pair_key UNIQUE (user_low, user_high)
);
CREATE INDEX ix_friend_requests_sender ON friend_requests (sender_id);
CREATE INDEX ix_friend_requests_recipient ON friend_requests (recipient_id);

CREATE TABLE friendships (
    user_low uuid NOT NULL REFERENCES users(id),
    user_high uuid NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_low, user_high)
);
CREATE INDEX ix_friendships_high ON friendships (user_high);

CREATE TABLE user_blocks (
    blocker_id uuid NOT NULL REFERENCES users(id),
    blocked_id uuid NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX ix_user_blocks_blocked ON user_blocks (blocked_id);
