-- A poll releases only the records it needs, oldest (date, id) first: the outbox is read in that order.
CREATE INDEX outbox_release ON outbox (feed, event_date, event_id);
