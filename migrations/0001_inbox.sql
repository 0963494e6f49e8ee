-- The inbox: one row per Gupy delivery id ever seen. `event_id` is the dedupe key (Gupy delivers
-- at least once); the row stays as a tombstone after its payload is purged.
CREATE TABLE deliveries (
  seq         INTEGER PRIMARY KEY,
  event_id    TEXT    NOT NULL UNIQUE,
  event       TEXT    NOT NULL,
  event_date  INTEGER NOT NULL, -- the envelope's `date`, epoch milliseconds
  received_at INTEGER NOT NULL, -- when the bridge stored it, epoch milliseconds
  state       TEXT    NOT NULL CHECK (state IN ('received', 'mapped', 'failed', 'ignored')),
  payload     TEXT,             -- raw body of application events; NULL for other events and once purged
  error       TEXT              -- why mapping failed; never personal data
) STRICT;

-- Deliveries still to map, or failed and waiting for `reprocess`.
CREATE INDEX deliveries_to_map ON deliveries (state) WHERE state IN ('received', 'failed');
