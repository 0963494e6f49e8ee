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

/** Rows per transaction: each holds the write lock for a few milliseconds, so ingest goes on beside. */
const CHUNK = 1000

/** The console's chart and retention log look back this far. */
const HISTORY_MS = 2 * 86_400_000

/** One retention run as logged: when, with which retention, and what it removed. */
export interface RetentionRun extends Purged { at: number, days: number }

export function createRetention (db: Database) {
  const dropPayloads = db.prepare<{ cutoff: number, limit: number }>(`
    UPDATE deliveries SET payload = NULL WHERE seq IN (
      SELECT seq FROM deliveries WHERE payload IS NOT NULL AND received_at < @cutoff AND state != 'received' LIMIT @limit)`)
  const dropServed = db.prepare<{ cutoff: number, limit: number }>(`
    DELETE FROM feed_items WHERE seq IN (
      SELECT seq FROM feed_items WHERE released_at < @cutoff
      AND seq <= coalesce((SELECT last_seq FROM feed_cursors c WHERE c.feed = feed_items.feed), 0)
      AND NOT EXISTS (SELECT 1 FROM push_items p WHERE p.seq = feed_items.seq) LIMIT @limit)`)
  const dropBatches = db.prepare<{ cutoff: number, limit: number }>(`
    DELETE FROM feed_batches WHERE id IN (SELECT id FROM feed_batches WHERE cut_at < @cutoff AND outcome != 'cut' LIMIT @limit)`)
  const staleContacts = db.prepare<{ cutoff: number, limit: number }, string>(`
    SELECT codigo FROM contacts c WHERE updated_at < @cutoff
    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.codigo = c.codigo)
    AND NOT EXISTS (SELECT 1 FROM feed_items f WHERE f.codigo = c.codigo) LIMIT @limit`).pluck()
  // A contact's Rubeus id goes with it (its key may be a CPF or an e-mail); a later push looks it up again.
  const dropContact = ['DELETE FROM applications WHERE codigo = ?', 'DELETE FROM delivered_contacts WHERE codigo = ?',
    'DELETE FROM rubeus_contacts WHERE codigo = ?', 'DELETE FROM contacts WHERE codigo = ?']
    .map((sql) => db.prepare<[string]>(sql))
  const dropContacts = db.transaction((codigos: string[]) => {
    for (const codigo of codigos) for (const statement of dropContact) statement.run(codigo)
    return codigos.length
  })
  const inChunks = (statement: { run: (p: { cutoff: number, limit: number }) => { changes: number } }) =>
    db.transaction((cutoff: number) => statement.run({ cutoff, limit: CHUNK }).changes)
  const steps = { payloads: inChunks(dropPayloads), records: inChunks(dropServed), batches: inChunks(dropBatches) }
  const nextStale = db.transaction((cutoff: number) => dropContacts(staleContacts.all({ cutoff, limit: CHUNK })))

  const logRun = db.prepare<[number, number, number, number, number, number]>(
    'INSERT INTO retention_runs (at, days, payloads, records, batches, contacts) VALUES (?, ?, ?, ?, ?, ?)')
  const dropRuns = db.prepare<[number]>('DELETE FROM retention_runs WHERE at < ?')
  const dropHours = db.prepare<[number]>('DELETE FROM delivery_hours WHERE hour < ?')
  const runs = db.prepare<[number], RetentionRun>(
    'SELECT at, days, payloads, records, batches, contacts FROM retention_runs ORDER BY id DESC LIMIT ?')
  const removing = db.prepare<[number], RetentionRun>(`
    SELECT at, days, payloads, records, batches, contacts FROM retention_runs
    WHERE payloads + records + batches + contacts > 0 ORDER BY id DESC LIMIT ?`)
  /** The run's own record, and the console's history pruned (what it shows stays, whatever `--days`). */
  const finish = db.transaction((retentionDays: number, now: number, cutoff: number, purged: Purged) => {
    const history = Math.min(cutoff, now - HISTORY_MS)
    dropRuns.run(history)
    dropHours.run(Math.floor(history / 3_600_000))
    logRun.run(now, retentionDays, purged.payloads, purged.records, purged.batches, purged.contacts)
  })

  /**
   * Everything older than `retentionDays` that is no longer needed, CHUNK rows per transaction,
   * yielding between transactions (`pause`: a turn of the event loop by default); `stopped` ends it early.
   */
  async function purge (retentionDays: number, now: number, stopped = () => false, pause = () => new Promise<void>(setImmediate)): Promise<Purged> {
    const cutoff = now - retentionDays * 86_400_000
    const purged: Purged = { payloads: 0, records: 0, batches: 0, contacts: 0 }
    const run = async (kind: keyof Purged, step: { immediate: (cutoff: number) => number }) => {
      for (let n = step.immediate(cutoff); n > 0 && !stopped(); n = step.immediate(cutoff)) {
        purged[kind] += n
        await pause()
      }
    }
    await run('payloads', steps.payloads)
    await run('records', steps.records)
    await run('batches', steps.batches)
    await run('contacts', nextStale)
    finish.immediate(retentionDays, now, cutoff, purged)
    return purged
  }
  return {
    purge,
    /** The latest runs, newest first. */
    lastRuns: (n: number): RetentionRun[] => runs.all(n),
    /** The latest runs that removed anything, newest first. */
    lastRemovals: (n: number): RetentionRun[] => removing.all(n)
  }
}
