-- The newest lease epoch seen per log partition. A persist batch takes its partition's row first and holds it to
-- commit, so one partition's batches commit in turn; a batch from a node whose lease was taken over is refused.
CREATE TABLE partition_fences (
    partition integer PRIMARY KEY,
    epoch     bigint NOT NULL
);
