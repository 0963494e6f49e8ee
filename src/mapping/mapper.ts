/** The mapper: turns stored deliveries into contacts and outbox records, in arrival order, in batches. */
import type { Repositories } from '../store/repositories.js'
import type { StoredDelivery } from '../store/inbox.js'
import { candidateKeys, contactKey, contactValues, mergeContact, renderContact, type ContactExtras, type ContactState } from './contact.js'
import { feedsFor, renderEvent } from './event.js'
import type { Mapping } from './mapping-file.js'
import { scalarAt, valueAt } from './template.js'
import { ENDED_STATUSES } from '../vocabulary/gupy-events.js'
import { BACKGROUND_STEP_MS } from '../store/contention.js'

export interface MapperOptions {
  mapping: Mapping
  timeZone: string
  extras: ContactExtras
  /** Called with each failure reason (for metrics); reasons never hold personal data. */
  onFailure?: (reason: string) => void
}

/** A mapping failure: its message is stored as the delivery's reason, so it never holds personal data. */
export class MappingFailure extends Error {}

/**
 * The application id a contact key is bound to: a safe integer or a non-empty string. Anything
 * else (1e400 parses as Infinity; ids above 2^53 lose digits) could bind two people to one key.
 */
function bindingId (value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim()
  return undefined
}

/** An unexpected error inside a batch: the batch is redone delivery by delivery. */
class RedoIsolated extends Error {}

export function createMapper ({ db, inbox, contacts, gupy }: Pick<Repositories, 'db' | 'inbox' | 'contacts' | 'gupy'>, opts: MapperOptions) {
  /** Maps one delivery; returns its contact key. Throws MappingFailure before it writes anything. */
  function mapOne (row: StoredDelivery, now: number): string {
    if (row.payload === null) throw new MappingFailure('the stored body was purged')
    let envelope: { event: string }
    try {
      envelope = JSON.parse(row.payload)
    } catch {
      throw new MappingFailure('the stored body is not JSON')
    }
    const applicationId = bindingId(valueAt(envelope, 'data.application.id'))
    const keys = candidateKeys(envelope)
    const bound = applicationId === undefined ? undefined : contacts.boundKey(applicationId)
    const codigo = bound ?? contactKey(keys, opts.mapping)
    if (codigo === undefined) throw new MappingFailure('the candidate has neither a valid CPF nor an e-mail')
    if (applicationId !== undefined) {
      // Reconciliation asks the job of each open application Gupy's API knows about.
      const status = scalarAt(envelope, 'data.application.status')
      const job = scalarAt(envelope, 'data.job.id')
      const ended = status !== undefined && (ENDED_STATUSES as readonly string[]).includes(status) ? status : undefined
      // A new application is bound with what the delivery says about it, in one write.
      if (bound === undefined) contacts.bind(applicationId, codigo, job, ended)
      else gupy.note(applicationId, job, ended)
    }

    const existing = contacts.load(codigo)
    const state: ContactState = existing === undefined ? {} : JSON.parse(existing.fields)
    const changed = mergeContact(state, contactValues(envelope, keys, opts.mapping, opts.timeZone), { date: row.event_date, id: row.event_id })
    if (changed || existing === undefined) {
      const rendered = renderContact(codigo, state, opts.extras)
      contacts.save(codigo, JSON.stringify(state), rendered, now)
      if ('record' in rendered && rendered.record !== existing?.record) contacts.queueContact(codigo, row)
    }
    for (const feed of feedsFor(envelope, opts.mapping)) {
      if (contacts.eventReleased(row.seq, feed.name)) continue
      contacts.queueEvent(feed.name, codigo, row, renderEvent(envelope, row.event_date, feed, codigo, opts.timeZone))
    }
    return codigo
  }

  /** One delivery in its own savepoint: a failure undoes only its own writes. */
  const mapInSavepoint = db.transaction(mapOne)

  /**
   * Maps up to `limit` deliveries in one transaction, stopping early once `budgetMs` is spent (what
   * is left waits for the next step). A MappingFailure is thrown before mapOne writes anything, so
   * it needs no savepoint; any other error rolls the batch back, and the batch is redone with one
   * savepoint per delivery so that only the faulty one fails.
   */
  const mapBatch = db.transaction((limit: number, budgetMs: number, isolate: boolean): number => {
    const rows = inbox.pending(limit)
    const now = Date.now()
    const deadline = performance.now() + budgetMs
    let done = 0
    for (const row of rows) {
      if (done > 0 && performance.now() >= deadline) break
      done++
      try {
        inbox.markMapped(row.seq, isolate ? mapInSavepoint(row, now) : mapOne(row, now))
      } catch (err) {
        if (!isolate && !(err instanceof MappingFailure)) throw new RedoIsolated('redo the batch in savepoints', { cause: err })
        const reason = err instanceof MappingFailure ? err.message : `mapping error: ${err instanceof Error ? err.name : 'unknown'}`
        inbox.markFailed(row.seq, reason)
        opts.onFailure?.(reason)
      }
    }
    return done
  })

  /**
   * Maps one batch of up to `limit` deliveries, for about `budgetMs` at most; returns how many it
   * mapped or failed (0 when nothing waits).
   */
  function step (limit: number, budgetMs = Infinity): number {
    // What a step writes is derived from deliveries already durable: a step lost to a power cut is
    // mapped again, the same way. So its commit does not wait for the disk (synchronous=NORMAL);
    // the next webhook's or feed's commit (FULL) flushes it with its own.
    db.pragma('synchronous = NORMAL')
    try {
      return mapBatch.immediate(limit, budgetMs, false)
    } catch (err) {
      if (err instanceof RedoIsolated) return mapBatch.immediate(limit, budgetMs, true)
      throw err
    } finally {
      db.pragma('synchronous = FULL')
    }
  }

  return {
    step,
    /** Maps every delivery still waiting; returns how many were mapped or failed. */
    catchUp (batchSize = 500): number {
      let total = 0
      for (let n = step(batchSize); n > 0; n = step(batchSize)) total += n
      return total
    },
    /**
     * Maps everything waiting, one batch of at most `budgetMs` per turn of the event loop, so
     * requests keep flowing.
     */
    async catchUpInTurns (batchSize = 500, budgetMs = BACKGROUND_STEP_MS): Promise<number> {
      let total = 0
      for (let n = step(batchSize, budgetMs); n > 0; n = step(batchSize, budgetMs)) {
        total += n
        await new Promise(setImmediate)
      }
      return total
    }
  }
}

export type Mapper = ReturnType<typeof createMapper>
