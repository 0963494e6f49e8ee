-- What the alerts (ALERT_WEBHOOK_URL) have seen and said, so that a restart neither says a finding
-- again nor forgets to say that it cleared. One row per finding present or still to be said cleared.
CREATE TABLE alert_findings (
  finding      TEXT    PRIMARY KEY,  -- the verdict's code, with its feed: `feed-not-polled:contatos`
  first_seen   INTEGER NOT NULL,     -- when a check first found it (ms); present at every check since
  announced_at INTEGER,              -- when a message last said it (announced or repeated); NULL: not yet
  said         TEXT                  -- the words said, for the message when it clears: counts and feed names, never personal data
) STRICT, WITHOUT ROWID;

-- When this database was set up (one set up by an earlier version: when it took this migration). A
-- new install has received nothing yet; in its first hour that is normal, not a warning to page about.
CREATE TABLE installation (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  installed_at INTEGER NOT NULL
) STRICT;
INSERT INTO installation (id, installed_at) VALUES (1, CAST(unixepoch('subsec') * 1000 AS INTEGER));
