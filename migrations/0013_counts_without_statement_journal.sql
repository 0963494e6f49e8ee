-- The counts of migration 0008, kept by steps that cannot fail. A statement that fires a trigger and
-- may abort halfway needs a statement journal: SQLite copies every page the statement touches
-- (8 KiB each; seven for a stored delivery) before changing it, which cost more than the insert
-- itself. An upsert's DO UPDATE always may abort; these steps, and the inbox's statements that fire
-- them (OR IGNORE), never do, so SQLite keeps no such journal. Same counts, same moments.
DROP TRIGGER deliveries_counted;
CREATE TRIGGER deliveries_counted AFTER INSERT ON deliveries BEGIN
  UPDATE OR IGNORE delivery_counts SET n = n + 1 WHERE state = new.state;
  INSERT OR IGNORE INTO delivery_hours (hour, n) VALUES (new.received_at / 3600000, 0);
  UPDATE OR IGNORE delivery_hours SET n = n + 1 WHERE hour = new.received_at / 3600000;
END;

DROP TRIGGER deliveries_recounted;
CREATE TRIGGER deliveries_recounted AFTER UPDATE OF state ON deliveries WHEN old.state != new.state BEGIN
  UPDATE OR IGNORE delivery_counts SET n = n - 1 WHERE state = old.state;
  UPDATE OR IGNORE delivery_counts SET n = n + 1 WHERE state = new.state;
END;
