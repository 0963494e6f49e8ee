-- What the bridge learns from Gupy's API (reconciliation, import, the subscription watchdog).

-- Per application: its job (reconciliation asks a job's applications) and, once known, the status
-- that ended it (reproved, give_up, hired): an ended application is not asked about again.
ALTER TABLE applications ADD COLUMN job_id TEXT;
ALTER TABLE applications ADD COLUMN ended_status TEXT;
UPDATE applications SET job_id = d.job_id, ended_status = d.ended_status
FROM (
  SELECT CAST(json_extract(payload, '$.data.application.id') AS TEXT) AS application_id,
         max(CAST(json_extract(payload, '$.data.job.id') AS TEXT)) AS job_id,
         max(CASE WHEN json_extract(payload, '$.data.application.status') IN ('reproved', 'give_up', 'hired')
             THEN json_extract(payload, '$.data.application.status') END) AS ended_status
  FROM deliveries WHERE payload IS NOT NULL AND json_valid(payload)
  GROUP BY 1
) AS d
WHERE applications.application_id = d.application_id;
CREATE INDEX applications_open_jobs ON applications (job_id) WHERE ended_status IS NULL;

-- Per Gupy job: how often in a row the API answered 404 for it (asked no more after a few), and
-- whether the import running now has finished it (an interrupted import skips it when resumed).
CREATE TABLE gupy_jobs (
  job_id      TEXT    PRIMARY KEY,
  misses      INTEGER NOT NULL DEFAULT 0,
  imported_at INTEGER
) STRICT, WITHOUT ROWID;

-- The last run of each kind of work against Gupy's API, for `status`.
CREATE TABLE gupy_runs (
  kind        TEXT    PRIMARY KEY CHECK (kind IN ('watch', 'reconcile', 'import')),
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  ok          INTEGER NOT NULL,
  summary     TEXT    NOT NULL, -- JSON counts, never personal data
  error       TEXT              -- why it failed; never personal data nor the token
) STRICT, WITHOUT ROWID;
