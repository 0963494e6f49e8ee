-- From deliveries to Rubeus records: contacts, their application bindings, the outbox of records
-- waiting for release, the released feed items with their sequence, cursors and the batch log.

-- A Gupy application keeps the contact key its first mapped delivery gave it.
CREATE TABLE applications (
  application_id TEXT PRIMARY KEY,
  codigo         TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- One row per Rubeus contact.
CREATE TABLE contacts (
  codigo     TEXT    PRIMARY KEY,
  fields     TEXT    NOT NULL,           -- JSON {field: [value, date ms, delivery id]}: last writer wins per field
  record     TEXT,                       -- the JSON record served to Rubeus; NULL while held back
  held       TEXT,                       -- why it cannot be served (no name, no phone nor e-mail)
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Contacts that went out in a contacts batch: their events may be released.
CREATE TABLE delivered_contacts (
  codigo TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- Records not yet released: changed contacts (one row per contact) and events.
CREATE TABLE outbox (
  id           INTEGER PRIMARY KEY,
  feed         TEXT    NOT NULL,
  codigo       TEXT    NOT NULL,  -- the contact, or the event's codContato
  delivery_seq INTEGER NOT NULL,  -- the delivery it comes from (for a contact: the latest change)
  event_date   INTEGER NOT NULL,  -- release order: (event_date, event_id)
  event_id     TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,  -- settle window start (for a contact: its first pending change)
  record       TEXT               -- events only: contacts are served as they stand
) STRICT;
CREATE UNIQUE INDEX outbox_contact ON outbox (codigo) WHERE feed = 'contatos';
CREATE INDEX outbox_feed ON outbox (feed, received_at);

-- Released records: `seq` is the feed order, monotonic, never reused; cursors follow it.
-- `ord` numbers a feed's records 1, 2, 3… so that counting what remains costs nothing.
CREATE TABLE feed_items (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  feed         TEXT    NOT NULL,
  ord          INTEGER NOT NULL,
  codigo       TEXT    NOT NULL,
  delivery_seq INTEGER NOT NULL,
  event_date   INTEGER NOT NULL,
  event_id     TEXT    NOT NULL,
  released_at  INTEGER NOT NULL,
  record       TEXT               -- events only
) STRICT;
CREATE INDEX feed_items_feed ON feed_items (feed, seq);
CREATE INDEX feed_items_codigo ON feed_items (codigo, feed);

-- The last sequence each feed has written out.
CREATE TABLE feed_cursors (
  feed       TEXT    PRIMARY KEY,
  last_seq   INTEGER NOT NULL,
  last_ord   INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Every batch cut: what it held, whether it was written out, who asked.
CREATE TABLE feed_batches (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  feed        TEXT    NOT NULL,
  first_seq   INTEGER NOT NULL,
  last_seq    INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  cut_at      INTEGER NOT NULL,
  finished_at INTEGER,
  outcome     TEXT    NOT NULL CHECK (outcome IN ('cut', 'served', 'aborted')),
  caller      TEXT
) STRICT;
CREATE INDEX feed_batches_feed ON feed_batches (feed, id);

-- The mapper reads deliveries still to map in arrival order; SQLite uses a partial index only when
-- the query repeats its condition, so one index per state.
DROP INDEX deliveries_to_map;
CREATE INDEX deliveries_to_map ON deliveries (seq) WHERE state = 'received';
CREATE INDEX deliveries_failed ON deliveries (seq) WHERE state = 'failed';
