/** The inbox repository: stores each Gupy delivery once, keyed by its id. */
import type { Database } from 'better-sqlite3'

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
 * Deduplication has two tiers. `delivery_ids` holds the ids of older deliveries; the ids of the
 * deliveries stored since it was last brought up to date are kept in memory by the process that
 * stored them, and written to `delivery_ids` later, many per transaction, by `index()`. Gupy's ids
 * are random UUIDs: written at once, each would dirty one more page of a large index in the commit
 * that acknowledges its delivery. Only one process may receive webhooks on a database; `index()`
 * still keeps the first delivery of an id if another process stored a copy.
 */
export function createInbox (db: Database) {
  // The body is stored as it arrived: bytes are cast to TEXT as they are, without a round trip
  // through a JavaScript string.
  const insert = db.prepare<[string, string, number, number, string, string | Uint8Array | null]>(`
    INSERT INTO deliveries (event_id, event, event_date, received_at, state, payload)
    VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT))`)
  const indexedId = db.prepare<[string], number>('SELECT 1 FROM delivery_ids WHERE event_id = ?').pluck()
  const storedId = db.prepare<[number], string>('SELECT event_id FROM deliveries WHERE seq = ?').pluck()
  const unindexed = db.prepare<[number], Stored>(`
    SELECT seq, event_id FROM deliveries WHERE seq > (SELECT seq FROM delivery_ids_through) ORDER BY seq LIMIT ?`)
  const addId = db.prepare<[string, number]>('INSERT INTO delivery_ids (event_id, seq) VALUES (?, ?) ON CONFLICT DO NOTHING')
  const dropCopy = db.prepare<[number]>('DELETE FROM deliveries WHERE seq = ?')
  const advance = db.prepare<[number]>('UPDATE delivery_ids_through SET seq = ?')
  const countByState = db.prepare<[], { state: DeliveryState, n: number }>(
    'SELECT state, count(*) AS n FROM deliveries GROUP BY state')
  const lastReceived = db.prepare<[], { received_at: number }>(
    'SELECT received_at FROM deliveries ORDER BY seq DESC LIMIT 1')

  /** Ids this process stored that are not in delivery_ids yet, with their seq. */
  const recent = new Map<string, number>()

  function known (eventId: string): boolean {
    const seq = recent.get(eventId)
    // The row is checked: the transaction that stored it may have been rolled back.
    if (seq !== undefined && storedId.get(seq) === eventId) return true
    return indexedId.get(eventId) !== undefined
  }

  const indexBatch = db.transaction((limit: number): Stored[] => {
    const rows = unindexed.all(limit)
    for (const row of rows) {
      if (addId.run(row.event_id, row.seq).changes === 0) dropCopy.run(row.seq) // a copy stored by another process
    }
    if (rows.length > 0) advance.run(rows[rows.length - 1]!.seq)
    return rows
  })

  /**
   * Writes the ids of up to `limit` deliveries, oldest first, to delivery_ids in one transaction of
   * its own; returns how many. A process must write every id another run left unwritten
   * (`catchUp`) before it stores a delivery: it does not remember them.
   */
  function index (limit: number): number {
    if (db.inTransaction) throw new Error('inbox.index() commits on its own: call it outside a transaction')
    const rows = indexBatch.immediate(limit)
    for (const { event_id: id, seq } of rows) if (recent.get(id) === seq) recent.delete(id)
    // Everything stored is indexed: what remains belongs to transactions that were rolled back.
    if (rows.length < limit) recent.clear()
    return rows.length
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
      return application ? 'accepted' : 'ignored'
    },

    index,

    /** Writes every id still unwritten (at start-up, and before feeds are served). */
    catchUp (batchSize = 5000): number {
      let total = 0
      for (let n = index(batchSize); n > 0; n = index(batchSize)) total += n
      return total
    },

    /** How many ids are held in memory, waiting for `index()`. */
    remembered: (): number => recent.size,

    counts (): InboxCounts {
      const byState: Record<DeliveryState, number> = { received: 0, mapped: 0, failed: 0, ignored: 0 }
      for (const { state, n } of countByState.all()) byState[state] = n
      return { byState, lastReceivedAt: lastReceivedAt() }
    },

    lastReceivedAt
  }
}

export type Inbox = ReturnType<typeof createInbox>
