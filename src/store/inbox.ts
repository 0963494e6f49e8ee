/** The inbox repository: every Gupy delivery stored once, keyed by its id; its mapping state. */
import { API_ID_PREFIX, isApplicationEvent, type Outcome } from '../vocabulary/gupy-events.js'
import type { Database } from './sqlite.js'

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

/** A stored delivery waiting to be mapped. */
export interface StoredDelivery {
  seq: number
  event_id: string
  event: string
  event_date: number
  received_at: number
  payload: string | null
}

const HOUR_MS = 3_600_000

export interface InboxCounts {
  byState: Record<DeliveryState, number>
  lastReceivedAt?: number
  /** When the database was set up: the bridge has waited for deliveries since. */
  installedAt?: number
}

export function createInbox (db: Database) {
  // The id is a unique key: a copy is refused by SQLite itself, whichever process stored the first.
  // The body is cast to TEXT as its bytes came, without a round trip through a JavaScript string.
  // OR IGNORE (not ON CONFLICT DO NOTHING): a statement that cannot abort needs no statement journal
  // for the counting triggers (migration 0013). It would also skip a row breaking NOT NULL or CHECK,
  // which these values never do; `record` still tells a refused row from a stored id.
  const insert = db.prepare<[string, string, number, number, string, string | Uint8Array | null]>(`
    INSERT OR IGNORE INTO deliveries (event_id, event, event_date, received_at, state, payload)
    VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT))`)
  const stored = db.prepare<[string], number>('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
  const pending = db.prepare<[number], StoredDelivery>(`
    SELECT seq, event_id, event, event_date, received_at, payload FROM deliveries
    WHERE state = 'received' ORDER BY seq LIMIT ?`)
  // OR IGNORE: see `insert` (nothing here can break a constraint).
  const markMapped = db.prepare<[string | null, number]>("UPDATE OR IGNORE deliveries SET state = 'mapped', error = NULL, codigo = ? WHERE seq = ?")
  const markFailed = db.prepare<[string, number]>("UPDATE deliveries SET state = 'failed', error = ? WHERE seq = ?")
  const REQUEUEABLE = {
    failed: "state = 'failed' AND payload IS NOT NULL",
    all: "state IN ('failed', 'mapped') AND payload IS NOT NULL"
  }
  const requeueStatement = (which: keyof typeof REQUEUEABLE) => db.prepare<[number, number, number], number>(`
    UPDATE deliveries SET state = 'received', error = NULL
    WHERE seq IN (SELECT seq FROM deliveries WHERE seq > ? AND seq <= ? AND ${REQUEUEABLE[which]} ORDER BY seq LIMIT ?) RETURNING seq`).pluck()
  const requeue = { failed: requeueStatement('failed'), all: requeueStatement('all') }
  const requeueable = {
    failed: db.prepare<[], number>(`SELECT count(*) FROM deliveries WHERE ${REQUEUEABLE.failed}`).pluck(),
    all: db.prepare<[], number>(`SELECT count(*) FROM deliveries WHERE ${REQUEUEABLE.all}`).pluck()
  }
  // Kept by triggers (migration 0008): reading them costs four rows, whatever the inbox holds.
  const countByState = db.prepare<[], { state: DeliveryState, n: number }>('SELECT state, n FROM delivery_counts')
  // A read-only command may open a database the service has not migrated yet (before 0010).
  const installedAt = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'installation'").get() === undefined
    ? undefined
    : db.prepare<[], number>('SELECT installed_at FROM installation').pluck()
  const perHour = db.prepare<[number, number], { hour: number, n: number }>(
    'SELECT hour, n FROM delivery_hours WHERE hour BETWEEN ? AND ? ORDER BY hour')
  const failureReasons = db.prepare<[], { reason: string, count: number }>(
    "SELECT error AS reason, count(*) AS count FROM deliveries WHERE state = 'failed' GROUP BY error ORDER BY count DESC")
  const lastSeq = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM deliveries').pluck()
  const lastReceived = db.prepare<[], number>('SELECT received_at FROM deliveries ORDER BY seq DESC LIMIT 1').pluck()
  // Deliveries made from Gupy's API are not webhooks: they say nothing about the subscriptions.
  const lastWebhook = db.prepare<[], number>(`SELECT received_at FROM deliveries WHERE event_id NOT LIKE '${API_ID_PREFIX}%' ORDER BY seq DESC LIMIT 1`).pluck()

  return {
    /** Stores the delivery unless its id is stored already. Runs inside the caller's transaction. */
    record (d: Delivery): Outcome {
      const application = isApplicationEvent(d.event)
      const { changes } = insert.run(d.eventId, d.event, d.eventDate, d.receivedAt,
        application ? 'received' : 'ignored', application ? d.body : null)
      if (changes === 0) {
        if (stored.get(d.eventId) === undefined) throw new Error('the delivery was refused by a constraint of the inbox')
        return 'duplicate'
      }
      return application ? 'accepted' : 'ignored'
    },

    /** The oldest deliveries still to map, in arrival order. */
    pending: (limit: number): StoredDelivery[] => pending.all(limit),
    markMapped: (seq: number, codigo: string): void => { markMapped.run(codigo, seq) },
    /** `reason` is shown by `status` and in metrics: it never holds personal data. */
    markFailed: (seq: number, reason: string): void => { markFailed.run(reason, seq) },
    /** How many deliveries `requeue` would mark: failed ones, or all that still have their body. */
    requeueable: (which: 'failed' | 'all'): number => requeueable[which].get() ?? 0,
    /**
     * Marks up to `limit` of them with a seq in (afterSeq, throughSeq] to be mapped again, in seq
     * order; returns their seqs. Runs in the caller's transaction, or as one short statement.
     */
    requeue: (which: 'failed' | 'all', afterSeq: number, throughSeq: number, limit: number): number[] =>
      requeue[which].all(afterSeq, throughSeq, limit),
    /** The seq of the newest delivery (0 when there is none). */
    lastSeq: (): number => lastSeq.get() ?? 0,

    counts (): InboxCounts {
      const byState: Record<DeliveryState, number> = { received: 0, mapped: 0, failed: 0, ignored: 0 }
      for (const { state, n } of countByState.all()) byState[state] = n
      return { byState, lastReceivedAt: lastReceived.get(), installedAt: installedAt?.get() }
    },

    /** Failed mappings, grouped by reason, most frequent first. */
    failures: () => failureReasons.all(),

    /** Deliveries stored in each of the `hours` hours up to the one holding `now`, oldest first. */
    perHour (now: number, hours: number): Array<{ hour: number, count: number }> {
      const last = Math.floor(now / HOUR_MS)
      const stored = new Map(perHour.all(last - hours + 1, last).map((r) => [r.hour, r.n]))
      return Array.from({ length: hours }, (_, i) => {
        const hour = last - hours + 1 + i
        return { hour: hour * HOUR_MS, count: stored.get(hour) ?? 0 }
      })
    },

    /** When the newest webhook from Gupy arrived (deliveries made from its API not counted). */
    lastWebhookAt: (): number | undefined => lastWebhook.get()
  }
}
