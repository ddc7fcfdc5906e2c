-- The newest lease epoch seen per log partition: a batch with an older epoch is refused (PartitionFence).
CREATE TABLE partition_fences (
    partition INTEGER PRIMARY KEY,
    epoch INTEGER NOT NULL
);
