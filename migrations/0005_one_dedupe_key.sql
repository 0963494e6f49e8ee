-- Deduplication has one source of truth again: a unique key on deliveries.event_id, checked in the
-- same transaction that stores a delivery, by every process that opens the file.

-- Version 4 kept ids in delivery_ids and mapped only deliveries up to delivery_ids_through; a copy of
-- an id stored above that mark (by a second process) was never mapped. The first delivery of each id
-- stays, the copies go.
DELETE FROM deliveries WHERE seq NOT IN (SELECT min(seq) FROM deliveries GROUP BY event_id);
CREATE UNIQUE INDEX deliveries_event_id ON deliveries (event_id);

DROP TABLE delivery_ids;
DROP TABLE delivery_ids_through;
