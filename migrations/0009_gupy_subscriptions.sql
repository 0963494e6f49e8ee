-- The Gupy subscriptions the bridge made its own: those it created, repaired, or found posting to
-- exactly PUBLIC_URL/webhooks/gupy. Only these (and any posting there) are ever changed by
-- `register-webhooks` or the watchdog; a changed PUBLIC_URL moves them instead of leaving them behind.
-- A recorded one counts as the bridge's only while it still posts where the bridge last pointed it:
-- re-pointed by someone else (a person, another bridge restored from this one's backup), it is theirs.
CREATE TABLE gupy_subscriptions (
  id           TEXT    PRIMARY KEY, -- Gupy's subscription id
  action       TEXT    NOT NULL,    -- application.created / application.moved
  postback_url TEXT    NOT NULL,    -- where the bridge last pointed it (never a secret)
  recorded_at  INTEGER NOT NULL     -- when the bridge created, repaired or first kept it (epoch ms)
) STRICT, WITHOUT ROWID;
