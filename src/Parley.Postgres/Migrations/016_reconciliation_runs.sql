-- E4: reconciliation runs, so any node answers GET /api/v1/admin/reconcile/{runId}. checks is the JSON array of the
-- run's checks (name, examined, drift, repaired, samples) once it has finished.
CREATE TABLE reconciliation_runs (
    id          uuid PRIMARY KEY,
    status      text NOT NULL,
    repair      boolean NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    error       text,
    checks      text
);
