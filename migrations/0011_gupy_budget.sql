-- One budget of requests to Gupy's API for every process on this database (the service's watchdog
-- and reconciliation, import, reconcile, register-webhooks, check-webhooks): Gupy's firewall counts
-- requests per IP address, whichever process sends them.
CREATE TABLE gupy_budget (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  next_slot    INTEGER NOT NULL DEFAULT 0, -- epoch ms: the next request any process may start
  paused_until INTEGER NOT NULL DEFAULT 0, -- epoch ms: after a 429, no process starts a request before
  pause_reason TEXT,                       -- the 429 that set the pause (method and path; no personal data)
  last_pause_at INTEGER,                   -- epoch ms of the last 429
  pauses       INTEGER NOT NULL DEFAULT 0  -- 429s answered so far
) STRICT;
INSERT INTO gupy_budget (id) VALUES (1);
