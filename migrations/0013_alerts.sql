-- When this database was set up (one set up by an earlier version: when it took this migration). A
-- new install has received nothing yet; in its first hour that is normal, not a warning to page about.
CREATE TABLE installation (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  installed_at INTEGER NOT NULL
) STRICT;
INSERT INTO installation (id, installed_at) VALUES (1, CAST(unixepoch('subsec') * 1000 AS INTEGER));
