-- Deduplication keys leave the deliveries table. Gupy's ids are random UUIDs, so a unique index on
-- them makes every delivery dirty one more index page, anywhere in the index, in the commit that
-- acknowledges it. The ids now go to delivery_ids behind ingest, many at a time; until a delivery's
-- id is there, the running service remembers it (see inbox.ts).

-- SQLite cannot drop a UNIQUE column constraint: the table is rebuilt without it.
CREATE TABLE deliveries_rebuilt (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: delivery_ids_through follows it
  event_id    TEXT    NOT NULL,
  event       TEXT    NOT NULL,
  event_date  INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('received', 'mapped', 'failed', 'ignored')),
  payload     TEXT,
  error       TEXT,
  codigo      TEXT
) STRICT;
INSERT INTO deliveries_rebuilt (seq, event_id, event, event_date, received_at, state, payload, error, codigo)
  SELECT seq, event_id, event, event_date, received_at, state, payload, error, codigo FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
CREATE INDEX deliveries_to_map ON deliveries (seq) WHERE state = 'received';
CREATE INDEX deliveries_failed ON deliveries (seq) WHERE state = 'failed';
CREATE INDEX deliveries_codigo ON deliveries (codigo) WHERE codigo IS NOT NULL;
CREATE INDEX deliveries_payload_age ON deliveries (received_at) WHERE payload IS NOT NULL;

-- Every delivery id ever stored, once: the first delivery with an id keeps it.
CREATE TABLE delivery_ids (
  event_id TEXT    PRIMARY KEY,
  seq      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO delivery_ids (event_id, seq) SELECT event_id, seq FROM deliveries;

-- Every delivery up to this seq has its id in delivery_ids; only those are mapped.
CREATE TABLE delivery_ids_through (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
) STRICT;
INSERT INTO delivery_ids_through (id, seq) VALUES (1, coalesce((SELECT max(seq) FROM deliveries), 0));
