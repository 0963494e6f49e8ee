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

/** The console's chart and retention log look back this far. */
const HISTORY_MS = 2 * 86_400_000

/** One retention run as logged: when, with which retention, and what it removed. */
export interface RetentionRun extends Purged { at: number, days: number }

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

  const logRun = db.prepare<[number, number, number, number, number, number]>(
    'INSERT INTO retention_runs (at, days, payloads, records, batches, contacts) VALUES (?, ?, ?, ?, ?, ?)')
  const dropRuns = db.prepare<[number]>('DELETE FROM retention_runs WHERE at < ?')
  const dropHours = db.prepare<[number]>('DELETE FROM delivery_hours WHERE hour < ?')
  const runs = db.prepare<[number], RetentionRun>(
    'SELECT at, days, payloads, records, batches, contacts FROM retention_runs ORDER BY id DESC LIMIT ?')
  const removing = db.prepare<[number], RetentionRun>(`
    SELECT at, days, payloads, records, batches, contacts FROM retention_runs
    WHERE payloads + records + batches + contacts > 0 ORDER BY id DESC LIMIT ?`)

  /** Everything older than `retentionDays` that is no longer needed, and the run's own record. One transaction. */
  const purge = db.transaction((retentionDays: number, now: number): Purged => {
    const cutoff = now - retentionDays * 86_400_000
    const payloads = dropPayloads.run(cutoff).changes
    const records = dropServed.run(cutoff).changes
    const batches = dropBatches.run(cutoff).changes
    dropBindings.run({ cutoff })
    dropDelivered.run({ cutoff })
    const contacts = dropContacts.run({ cutoff }).changes
    const history = Math.min(cutoff, now - HISTORY_MS) // what the console shows stays, whatever `--days`
    dropRuns.run(history)
    dropHours.run(Math.floor(history / 3_600_000))
    logRun.run(now, retentionDays, payloads, records, batches, contacts)
    return { payloads, records, batches, contacts }
  })
  return {
    purge,
    /** The latest runs, newest first. */
    lastRuns: (n: number): RetentionRun[] => runs.all(n),
    /** The latest runs that removed anything, newest first. */
    lastRemovals: (n: number): RetentionRun[] => removing.all(n)
  }
}
