/** Retention (LGPD): what the bridge no longer needs is removed after RETENTION_DAYS; delivery ids stay. */
import type { Database } from './sqlite.js'

export interface Purged {
  /** Raw bodies of deliveries, dropped; the delivery rows and their ids stay, so late duplicates are still recognised. */
  payloads: number
  /** Served feed records. */
  records: number
  /** Batch log entries. */
  batches: number
  /** Contacts with nothing waiting and no change since the cut-off, with their bindings. */
  contacts: number
}

export function createRetention (db: Database) {
  const dropPayloads = db.prepare<[number]>(`
    UPDATE deliveries SET payload = NULL WHERE payload IS NOT NULL AND received_at < ? AND state != 'received'`)
  const dropServed = db.prepare<[number]>(`
    DELETE FROM feed_items WHERE released_at < ?
    AND seq <= coalesce((SELECT last_seq FROM feed_cursors c WHERE c.feed = feed_items.feed), 0)`)
  const dropBatches = db.prepare<[number]>("DELETE FROM feed_batches WHERE cut_at < ? AND outcome != 'cut'")
  const staleContacts = `SELECT codigo FROM contacts c WHERE updated_at < @cutoff
    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.codigo = c.codigo)
    AND NOT EXISTS (SELECT 1 FROM feed_items f WHERE f.codigo = c.codigo)`
  const dropBindings = db.prepare<{ cutoff: number }>(`DELETE FROM applications WHERE codigo IN (${staleContacts})`)
  const dropDelivered = db.prepare<{ cutoff: number }>(`DELETE FROM delivered_contacts WHERE codigo IN (${staleContacts})`)
  const dropContacts = db.prepare<{ cutoff: number }>(`DELETE FROM contacts WHERE codigo IN (${staleContacts})`)

  /** Everything older than `retentionDays` that is no longer needed. One transaction. */
  const purge = db.transaction((retentionDays: number, now: number): Purged => {
    const cutoff = now - retentionDays * 86_400_000
    const payloads = dropPayloads.run(cutoff).changes
    const records = dropServed.run(cutoff).changes
    const batches = dropBatches.run(cutoff).changes
    dropBindings.run({ cutoff })
    dropDelivered.run({ cutoff })
    const contacts = dropContacts.run({ cutoff }).changes
    return { payloads, records, batches, contacts }
  })
  return { purge }
}
