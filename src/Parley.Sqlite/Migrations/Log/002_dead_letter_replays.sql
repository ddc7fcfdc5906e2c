-- E2: a dead-lettered entry can be replayed; how often it was is kept with the entry and copied to its next dead letter.
ALTER TABLE entries ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;
