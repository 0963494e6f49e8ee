-- Pushing to Rubeus's CRM API (RUBEUS_DELIVERY=push). A released feed record handed to the pusher
-- gets a row here; the row is deleted once Rubeus answered `success: true` for it, so the table
-- holds only what is still to push: pending (waiting, or being retried) or parked (refused).
CREATE TABLE push_items (
  seq       INTEGER PRIMARY KEY,          -- the feed record (feed_items.seq): what is pushed
  feed      TEXT    NOT NULL,
  codigo    TEXT    NOT NULL,             -- the contact: its records go one at a time, a parked one holds the rest
  state     TEXT    NOT NULL CHECK (state IN ('pending', 'parked')),
  queued_at INTEGER NOT NULL,             -- epoch ms, when it was handed to the pusher
  attempts  INTEGER NOT NULL DEFAULT 0,   -- failed attempts so far (network errors, time-outs, 408, 429, 5xx)
  reason    TEXT,                         -- the last failure, or why Rubeus refused it (no token, personal data masked)
  since     INTEGER                       -- epoch ms of that failure or refusal
) STRICT;
-- One contact's records (the pusher's next one, what a push of its contact record covers); the queue
-- itself is walked in `seq` order, the table's own.
CREATE INDEX push_items_contact ON push_items (codigo, state, feed);

-- Each contact key's id in Rubeus, once looked up or created: every later call updates that contact.
CREATE TABLE rubeus_contacts (
  codigo    TEXT    PRIMARY KEY,
  rubeus_id TEXT    NOT NULL,
  known_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- When Rubeus last answered `success: true` to a push (for `status` and the console).
CREATE TABLE rubeus_push (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  last_success_at INTEGER
) STRICT;
INSERT INTO rubeus_push (id) VALUES (1);
