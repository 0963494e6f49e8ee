/** The inbox repository: stores each Gupy delivery once, keyed by its id. */
import type { Database } from 'better-sqlite3'
import { IdFilter } from './id-filter.js'

/** The Gupy events the bridge turns into Rubeus records; others are only acknowledged. */
export const APPLICATION_EVENTS: ReadonlySet<string> = new Set(['application.created', 'application.moved'])

export type Outcome = 'accepted' | 'duplicate' | 'ignored'

export interface Delivery {
  eventId: string
  event: string
  /** The envelope's `date`, epoch milliseconds. */
  eventDate: number
  receivedAt: number
  /** The raw body as received (UTF-8). Kept only for application events (data minimisation). */
  body: string | Uint8Array
}

export type DeliveryState = 'received' | 'mapped' | 'failed' | 'ignored'

export interface InboxCounts {
  byState: Record<DeliveryState, number>
  lastReceivedAt?: number
}

interface Stored { seq: number, event_id: string }

/**
 * Ids per merge. Gupy's ids are random: a thousand of them land on about a thousand pages of a large
 * index, while twenty thousand written in key order share pages (measured on 300,000 ids, 8 KiB
 * pages: 32 µs per id written in random order, 6 µs in key order).
 */
const MERGE_SIZE = 20_000

/** Ids the filter is sized for, at least: 2 MiB, about 0.1 % false positives when full. */
const MIN_FILTER_CAPACITY = 1 << 20

/**
 * Deduplication has two tiers. `delivery_ids` holds the ids of older deliveries; the ids of the
 * deliveries stored since it was last brought up to date are kept in memory by the process that
 * stored them, and merged into `delivery_ids` later, many at a time and in key order, by `index()`.
 * Gupy's ids are random UUIDs: written at once, each would dirty one more page of a large index in
 * the commit that acknowledges its delivery. One process receives webhooks on a database; should
 * another store a copy of an id, `index()` keeps the first delivery and drops the copy unmapped.
 */
export function createInbox (db: Database) {
  // The body is stored as it arrived: bytes are cast to TEXT as they are, without a round trip
  // through a JavaScript string.
  const insert = db.prepare<[string, string, number, number, string, string | Uint8Array | null]>(`
    INSERT INTO deliveries (event_id, event, event_date, received_at, state, payload)
    VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT))`)
  const writtenSeq = db.prepare<[string], number>('SELECT seq FROM delivery_ids WHERE event_id = ?').pluck()
  const allIds = db.prepare<[], string>('SELECT event_id FROM delivery_ids').pluck()
  const idsThrough = db.prepare<[], number>('SELECT seq FROM delivery_ids_through').pluck()
  const storedId = db.prepare<[number], string>('SELECT event_id FROM deliveries WHERE seq = ?').pluck()
  // The oldest deliveries whose id is not written yet, in key order: written in that order, ids
  // that share an index page are written together.
  const unwritten = db.prepare<[number], Stored>(`
    SELECT seq, event_id FROM (
      SELECT seq, event_id FROM deliveries WHERE seq > (SELECT seq FROM delivery_ids_through) ORDER BY seq LIMIT ?
    ) ORDER BY event_id, seq`)
  const addId = db.prepare<[string, number]>('INSERT INTO delivery_ids (event_id, seq) VALUES (?, ?) ON CONFLICT DO NOTHING')
  const dropCopy = db.prepare<[number]>('DELETE FROM deliveries WHERE seq = ?')
  const advance = db.prepare<[number]>('UPDATE delivery_ids_through SET seq = ?')
  const countByState = db.prepare<[], { state: DeliveryState, n: number }>(
    'SELECT state, count(*) AS n FROM deliveries GROUP BY state')
  const lastReceived = db.prepare<[], { received_at: number }>(
    'SELECT received_at FROM deliveries ORDER BY seq DESC LIMIT 1')

  /** Ids this process stored that are not in delivery_ids yet, with their seq. */
  const recent = new Map<string, number>()

  /**
   * Every id in delivery_ids or remembered, so that a new id needs no index lookup. Built on first
   * use, sized for twice the ids stored so far (the mark bounds their number); rebuilt only by the
   * next process, and until then it only answers "maybe" more often.
   */
  let filter: IdFilter | undefined
  function idFilter (): IdFilter {
    if (filter === undefined) {
      filter = new IdFilter(Math.max(MIN_FILTER_CAPACITY, 2 * ((idsThrough.get() ?? 0) + recent.size)))
      for (const id of allIds.iterate()) filter.add(id)
      for (const id of recent.keys()) filter.add(id)
    }
    return filter
  }

  function known (eventId: string): boolean {
    const seq = recent.get(eventId)
    // The row is checked: the transaction that stored it may have been rolled back.
    if (seq !== undefined && storedId.get(seq) === eventId) return true
    return idFilter().mightHave(eventId) && writtenSeq.get(eventId) !== undefined
  }

  const writeIds = db.transaction((rows: Stored[], through: number | undefined) => {
    for (const row of rows) {
      if (addId.run(row.event_id, row.seq).changes > 0) continue
      // Written already: by this merge before a crash (same seq), or it is a copy another process stored.
      if (writtenSeq.get(row.event_id) !== row.seq) dropCopy.run(row.seq)
    }
    if (through !== undefined) advance.run(through)
  })

  /** The merge in progress: up to MERGE_SIZE deliveries, in key order, and the last seq among them. */
  let merge: { rows: Stored[], next: number, through: number } | undefined

  /**
   * Writes up to `limit` ids of the merge in progress to delivery_ids, in one transaction of its own,
   * first starting a merge of the oldest unwritten deliveries if none is in progress; returns how
   * many. The mark moves, and the merged ids are forgotten, with the merge's last chunk. A process
   * must write every id another run left unwritten (`catchUp`) before it stores a delivery: it does
   * not remember them.
   */
  function index (limit: number): number {
    if (db.inTransaction) throw new Error('inbox.index() commits on its own: call it outside a transaction')
    if (merge === undefined) {
      const rows = unwritten.all(MERGE_SIZE)
      if (rows.length === 0) {
        recent.clear() // everything stored is written: what remains belongs to rolled-back transactions
        return 0
      }
      merge = { rows, next: 0, through: rows.reduce((max, r) => Math.max(max, r.seq), 0) }
    }
    const { rows, next, through } = merge
    const chunk = rows.slice(next, next + limit)
    const last = next + chunk.length === rows.length
    writeIds.immediate(chunk, last ? through : undefined)
    merge.next += chunk.length
    if (last) {
      for (const { event_id: id, seq } of rows) if (recent.get(id) === seq) recent.delete(id)
      merge = undefined
    }
    return chunk.length
  }

  /** When the newest delivery arrived (epoch ms), without counting the inbox. */
  const lastReceivedAt = (): number | undefined => lastReceived.get()?.received_at

  return {
    /** Inserts the delivery unless its id is known. Runs inside the caller's transaction. */
    record (d: Delivery): Outcome {
      if (known(d.eventId)) return 'duplicate'
      const application = APPLICATION_EVENTS.has(d.event)
      const { lastInsertRowid } = insert.run(d.eventId, d.event, d.eventDate, d.receivedAt,
        application ? 'received' : 'ignored', application ? d.body : null)
      recent.set(d.eventId, Number(lastInsertRowid))
      idFilter().add(d.eventId)
      return application ? 'accepted' : 'ignored'
    },

    index,

    /** Writes every id still unwritten (at start-up, and before feeds are served). */
    catchUp (batchSize = 5000): number {
      let total = 0
      for (let n = index(batchSize); n > 0; n = index(batchSize)) total += n
      idFilter() // built now rather than on the first delivery
      return total
    },

    /** How many ids are held in memory, waiting for `index()`. */
    remembered: (): number => recent.size,

    /** Whether a merge is under way, or this process remembers enough ids for one. */
    mergeDue: (): boolean => merge !== undefined || recent.size >= MERGE_SIZE,

    counts (): InboxCounts {
      const byState: Record<DeliveryState, number> = { received: 0, mapped: 0, failed: 0, ignored: 0 }
      for (const { state, n } of countByState.all()) byState[state] = n
      return { byState, lastReceivedAt: lastReceivedAt() }
    },

    lastReceivedAt
  }
}

export type Inbox = ReturnType<typeof createInbox>
