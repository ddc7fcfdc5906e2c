-- M2: a user's profile beyond the display name. email is kept as entered and found by its lower-cased form, which is
-- unique among the users that have one; it is shown to nobody but its owner.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_normalized TEXT;
ALTER TABLE users ADD COLUMN avatar_url TEXT;
CREATE UNIQUE INDEX users_email_normalized_key ON users (email_normalized) WHERE email_normalized IS NOT NULL;
