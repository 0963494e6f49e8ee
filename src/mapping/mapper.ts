/** The mapper: turns stored deliveries into contacts and outbox records, in arrival order, in batches. */
import type { Database } from './sqlite.js'
import { candidateKeys, contactKey, contactValues, mergeContact, renderContact, type ContactExtras, type ContactState } from '../mapping/contact.js'
import { feedsFor, renderEvent } from '../mapping/event.js'
import type { Mapping } from '../mapping/mapping-file.js'
import type { Inbox } from './inbox.js'
import { valueAt } from '../mapping/template.js'

export const CONTACTS_FEED = 'contatos'

export interface MapperOptions {
  mapping: Mapping
  timeZone: string
  extras: ContactExtras
  /** Called with each failure reason (for metrics); reasons never hold personal data. */
  onFailure?: (reason: string) => void
  /** The inbox whose ids a catch-up writes first (deliveries are mapped once their id is written). */
  inbox?: Pick<Inbox, 'index' | 'catchUp'>
}

interface Row { seq: number, event_id: string, event: string, event_date: number, received_at: number, payload: string | null }

/** A mapping failure: its message is stored as the delivery's reason, so it never holds personal data. */
export class MappingFailure extends Error {}

/** An unexpected error inside a batch: the batch is redone delivery by delivery. */
class RedoIsolated extends Error {}

export function createMapper (db: Database, opts: MapperOptions) {
  // Only deliveries whose id is in delivery_ids: a copy another process stored is never mapped.
  const pending = db.prepare<[number], Row>(`
    SELECT seq, event_id, event, event_date, received_at, payload FROM deliveries
    WHERE state = 'received' AND seq <= (SELECT seq FROM delivery_ids_through) ORDER BY seq LIMIT ?`)
  const countPending = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM deliveries WHERE state = 'received'")
  const markMapped = db.prepare<[string | null, number]>("UPDATE deliveries SET state = 'mapped', error = NULL, codigo = ? WHERE seq = ?")
  const markFailed = db.prepare<[string, number]>("UPDATE deliveries SET state = 'failed', error = ? WHERE seq = ?")
  const boundKey = db.prepare<[string], { codigo: string }>('SELECT codigo FROM applications WHERE application_id = ?')
  const bind = db.prepare<[string, string]>('INSERT INTO applications (application_id, codigo) VALUES (?, ?) ON CONFLICT DO NOTHING')
  const loadContact = db.prepare<[string], { fields: string, record: string | null }>('SELECT fields, record FROM contacts WHERE codigo = ?')
  const saveContact = db.prepare<[string, string, string | null, string | null, number]>(`
    INSERT INTO contacts (codigo, fields, record, held, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (codigo) DO UPDATE SET fields = excluded.fields, record = excluded.record, held = excluded.held, updated_at = excluded.updated_at`)
  const queueContact = db.prepare<[string, number, number, string, number]>(`
    INSERT INTO outbox (feed, codigo, delivery_seq, event_date, event_id, received_at) VALUES ('${CONTACTS_FEED}', ?, ?, ?, ?, ?)
    ON CONFLICT (codigo) WHERE feed = '${CONTACTS_FEED}' DO UPDATE SET
      delivery_seq = excluded.delivery_seq,
      event_date = max(event_date, excluded.event_date),
      event_id = CASE WHEN excluded.event_date >= event_date THEN excluded.event_id ELSE event_id END`)
  // Re-mapping a delivery renders its waiting events again; a released event is never made twice.
  const released = db.prepare<[number, string], { seq: number }>('SELECT seq FROM feed_items WHERE delivery_seq = ? AND feed = ?')
  const queueEvent = db.prepare<[string, string, number, number, string, number, string]>(`
    INSERT INTO outbox (feed, codigo, delivery_seq, event_date, event_id, received_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (delivery_seq, feed) WHERE feed != '${CONTACTS_FEED}' DO UPDATE SET codigo = excluded.codigo, record = excluded.record`)
  const requeue = {
    failed: db.prepare("UPDATE deliveries SET state = 'received', error = NULL WHERE state = 'failed' AND payload IS NOT NULL"),
    all: db.prepare("UPDATE deliveries SET state = 'received', error = NULL WHERE state IN ('failed', 'mapped') AND payload IS NOT NULL")
  }

  function mapOne (row: Row, now: number): string {
    if (row.payload === null) throw new MappingFailure('the stored body was purged')
    let envelope: { event: string }
    try {
      envelope = JSON.parse(row.payload)
    } catch {
      throw new MappingFailure('the stored body is not JSON')
    }
    const applicationValue = valueAt(envelope, 'data.application.id')
    const applicationId = typeof applicationValue === 'number' || typeof applicationValue === 'string' ? String(applicationValue) : undefined
    const keys = candidateKeys(envelope)
    const bound = applicationId === undefined ? undefined : boundKey.get(applicationId)?.codigo
    const codigo = bound ?? contactKey(keys, opts.mapping)
    if (codigo === undefined) throw new MappingFailure('the candidate has neither a valid CPF nor an e-mail')
    if (bound === undefined && applicationId !== undefined) bind.run(applicationId, codigo)

    const existing = loadContact.get(codigo)
    const state: ContactState = existing === undefined ? {} : JSON.parse(existing.fields)
    const changed = mergeContact(state, contactValues(envelope, keys, opts.mapping, opts.timeZone), { date: row.event_date, id: row.event_id })
    if (changed || existing === undefined) {
      const rendered = renderContact(codigo, state, opts.extras)
      const record = 'record' in rendered ? rendered.record : null
      saveContact.run(codigo, JSON.stringify(state), record, 'held' in rendered ? rendered.held : null, now)
      if (record !== null && record !== existing?.record) queueContact.run(codigo, row.seq, row.event_date, row.event_id, row.received_at)
    }
    for (const feed of feedsFor(envelope, opts.mapping)) {
      if (released.get(row.seq, feed.name) !== undefined) continue
      queueEvent.run(feed.name, codigo, row.seq, row.event_date, row.event_id, row.received_at,
        renderEvent(envelope, row.event_date, feed, codigo, opts.timeZone))
    }
    return codigo
  }

  /** One delivery in its own savepoint: a failure undoes only its own writes. */
  const mapInSavepoint = db.transaction(mapOne)

  /**
   * Maps up to `limit` deliveries in one transaction. A MappingFailure is thrown before mapOne
   * writes anything, so it needs no savepoint; any other error rolls the batch back, and the
   * batch is redone with one savepoint per delivery so that only the faulty one fails.
   */
  const mapBatch = db.transaction((limit: number, isolate: boolean): number => {
    const rows = pending.all(limit)
    const now = Date.now()
    for (const row of rows) {
      try {
        const codigo = isolate ? mapInSavepoint(row, now) : mapOne(row, now)
        markMapped.run(codigo, row.seq)
      } catch (err) {
        if (!isolate && !(err instanceof MappingFailure)) throw new RedoIsolated('redo the batch in savepoints', { cause: err })
        const reason = err instanceof MappingFailure ? err.message : `mapping error: ${err instanceof Error ? err.name : 'unknown'}`
        markFailed.run(reason, row.seq)
        opts.onFailure?.(reason)
      }
    }
    return rows.length
  })

  function step (limit: number): number {
    try {
      return mapBatch(limit, false)
    } catch (err) {
      if (err instanceof RedoIsolated) return mapBatch(limit, true)
      throw err
    }
  }

  return {
    /** Maps every delivery still waiting; returns how many were mapped or failed. */
    catchUp (batchSize = 500): number {
      opts.inbox?.catchUp()
      let total = 0
      for (let n = step(batchSize); n > 0; n = step(batchSize)) total += n
      return total
    },
    /** Maps one batch; returns its size (0 when nothing waits). */
    step,
    /** Maps everything waiting, one batch per turn of the event loop, so requests keep flowing. */
    async catchUpInTurns (batchSize = 500): Promise<number> {
      while ((opts.inbox?.index(1000) ?? 0) > 0) await new Promise(setImmediate)
      let total = 0
      for (let n = step(batchSize); n > 0; n = step(batchSize)) {
        total += n
        await new Promise(setImmediate)
      }
      return total
    },
    /** Marks stored deliveries to be mapped again: failed ones, or all that still have their body. */
    requeue (which: 'failed' | 'all'): number {
      return requeue[which].run().changes
    },
    waiting (): number {
      return countPending.get()?.n ?? 0
    }
  }
}

export type Mapper = ReturnType<typeof createMapper>
