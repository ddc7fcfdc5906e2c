-- E4: reconciliation runs, so any node answers GET /api/v1/admin/reconcile/{runId}. checks is the JSON array of the
-- run's checks (name, examined, drift, repaired, samples) once it has finished.
CREATE TABLE reconciliation_runs (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    repair      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    error       TEXT,
    checks      TEXT
);
