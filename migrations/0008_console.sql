-- What the console and `status` show, kept so that showing it never counts the inbox.

-- Deliveries per state, kept by triggers on deliveries (two small updates per stored delivery).
CREATE TABLE delivery_counts (
  state TEXT    PRIMARY KEY,
  n     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO delivery_counts (state, n) SELECT state, count(*) FROM deliveries GROUP BY state;
INSERT OR IGNORE INTO delivery_counts (state, n) VALUES ('received', 0), ('mapped', 0), ('failed', 0), ('ignored', 0);

-- Deliveries stored per hour of arrival (epoch hours, UTC), for the console's chart.
CREATE TABLE delivery_hours (
  hour INTEGER PRIMARY KEY,
  n    INTEGER NOT NULL
) STRICT;
INSERT INTO delivery_hours (hour, n) SELECT received_at / 3600000, count(*) FROM deliveries GROUP BY 1;

CREATE TRIGGER deliveries_counted AFTER INSERT ON deliveries BEGIN
  UPDATE delivery_counts SET n = n + 1 WHERE state = new.state;
  INSERT INTO delivery_hours (hour, n) VALUES (new.received_at / 3600000, 1)
    ON CONFLICT (hour) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER deliveries_recounted AFTER UPDATE OF state ON deliveries WHEN old.state != new.state BEGIN
  UPDATE delivery_counts SET n = n - 1 WHERE state = old.state;
  UPDATE delivery_counts SET n = n + 1 WHERE state = new.state;
END;
CREATE TRIGGER deliveries_uncounted AFTER DELETE ON deliveries BEGIN
  UPDATE delivery_counts SET n = n - 1 WHERE state = old.state;
END;

-- Failed mappings by reason, and held contacts by reason, read from small indexes.
CREATE INDEX deliveries_failed_reason ON deliveries (error) WHERE state = 'failed';
CREATE INDEX contacts_held ON contacts (held) WHERE record IS NULL;

-- The last poll of each feed, also when it found nothing to serve (those are not in the batch log).
CREATE TABLE feed_polls (
  feed   TEXT    PRIMARY KEY,
  at     INTEGER NOT NULL,
  caller TEXT
) STRICT, WITHOUT ROWID;

-- Every retention run and what it removed.
CREATE TABLE retention_runs (
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,
  days     INTEGER NOT NULL,
  payloads INTEGER NOT NULL,
  records  INTEGER NOT NULL,
  batches  INTEGER NOT NULL,
  contacts INTEGER NOT NULL
) STRICT;
