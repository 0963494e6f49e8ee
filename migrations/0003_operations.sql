-- Operations: erasure, reprocessing and retention.

-- The contact each delivery was mapped to, so that erasing a person finds their deliveries.
ALTER TABLE deliveries ADD COLUMN codigo TEXT;
CREATE INDEX deliveries_codigo ON deliveries (codigo) WHERE codigo IS NOT NULL;

-- One event per delivery and feed, in the outbox or released: re-mapping never duplicates an event.
CREATE UNIQUE INDEX outbox_event ON outbox (delivery_seq, feed) WHERE feed != 'contatos';
CREATE INDEX feed_items_delivery ON feed_items (delivery_seq, feed);

-- Retention works by age.
CREATE INDEX deliveries_payload_age ON deliveries (received_at) WHERE payload IS NOT NULL;
CREATE INDEX feed_items_age ON feed_items (released_at);
CREATE INDEX feed_batches_age ON feed_batches (cut_at);
CREATE INDEX contacts_age ON contacts (updated_at);
