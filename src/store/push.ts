/**
 * The push queue (RUBEUS_DELIVERY=push): released feed records handed to the pusher, each until
 * Rubeus answered `success: true` for it; the Rubeus id of each contact key; the last success.
 * A contact's records go one at a time, its contact record first, then its events by date; a parked
 * record holds back that contact's other records and nobody else's.
 */
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import type { Database } from './sqlite.js'

/** A record to push, as the pusher reads it. */
export interface PushItem {
  seq: number
  feed: string
  codigo: string
  /** Gupy's delivery id (an event's `codigo` in Rubeus is made from it). */
  event_id: string
  event_date: number
  /** The event's record (pull format); null for a contact record. */
  record: string | null
  /** The contact's record as it stands now (pull format); null when it cannot be served (erased, held). */
  contact: string | null
  /** For a contact record: the newest pending contact record of the key, which this push covers too. */
  covers: number
}

/** A parked record as `status` and the console show it: no personal data. */
export interface ParkedRecord { feed: string, reason: string, since: number }

export interface PushCounts {
  /** Per feed: records waiting to be pushed (being retried included) and parked ones. */
  feeds: Record<string, { pending: number, parked: number }>
  pending: number
  /** Pending records whose last attempt failed and that are being tried again. */
  retrying: number
  parked: number
  /** When the oldest pending record was handed to the pusher (epoch ms). */
  oldestPendingAt: number | undefined
  lastSuccessAt: number | undefined
  /** The last failure of a record being retried (what Rubeus or the network said; no token, no personal data). */
  lastRetryReason: string | undefined
}

/** Parked records listed at most (the counts are whole). */
const PARKED_LISTED = 50

export function createPush (db: Database) {
  const enqueue = db.prepare<[number, string, number, number]>(`
    INSERT INTO push_items (seq, feed, codigo, state, queued_at)
    SELECT seq, feed, codigo, 'pending', ? FROM feed_items WHERE feed = ? AND seq BETWEEN ? AND ?
    ON CONFLICT (seq) DO NOTHING`)
  const PARKED = "EXISTS (SELECT 1 FROM push_items q WHERE q.codigo = p.codigo AND q.state = 'parked')"
  // Walked in queue order and left as soon as enough contacts are found: its cost is what it reads.
  const pendingInOrder = db.prepare<[], string>(`SELECT codigo FROM push_items p WHERE state = 'pending' AND NOT ${PARKED} ORDER BY seq`).pluck()
  const next = db.prepare<[string], PushItem>(`
    SELECT p.seq, p.feed, p.codigo, f.event_id, f.event_date, f.record, c.record AS contact,
      (SELECT max(seq) FROM push_items r WHERE r.codigo = p.codigo AND r.feed = '${CONTACTS_FEED}' AND r.state = 'pending') AS covers
    FROM push_items p JOIN feed_items f ON f.seq = p.seq LEFT JOIN contacts c ON c.codigo = p.codigo
    WHERE p.codigo = ? AND p.state = 'pending' AND NOT ${PARKED}
    ORDER BY p.feed = '${CONTACTS_FEED}' DESC, f.event_date, f.event_id, p.seq LIMIT 1`)
  const rubeusId = db.prepare<[string], string>('SELECT rubeus_id FROM rubeus_contacts WHERE codigo = ?').pluck()
  const remember = db.prepare<[string, string, number]>(`
    INSERT INTO rubeus_contacts (codigo, rubeus_id, known_at) VALUES (?, ?, ?)
    ON CONFLICT (codigo) DO UPDATE SET rubeus_id = excluded.rubeus_id, known_at = excluded.known_at`)
  const doneOne = db.prepare<[number]>('DELETE FROM push_items WHERE seq = ?')
  const doneContact = db.prepare<[string, number]>(
    `DELETE FROM push_items WHERE codigo = ? AND feed = '${CONTACTS_FEED}' AND state = 'pending' AND seq <= ?`)
  const succeeded = db.prepare<[number]>('UPDATE rubeus_push SET last_success_at = ? WHERE id = 1')
  const failed = db.prepare<[string, number, number]>(
    "UPDATE push_items SET attempts = attempts + 1, reason = ?, since = ? WHERE seq = ? AND state = 'pending'")
  const park = db.prepare<[string, number, number]>("UPDATE push_items SET state = 'parked', reason = ?, since = ? WHERE seq = ?")
  const retryAll = db.prepare("UPDATE push_items SET state = 'pending', attempts = 0, reason = NULL, since = NULL WHERE state = 'parked'")
  const retryFeed = db.prepare<[string]>(
    "UPDATE push_items SET state = 'pending', attempts = 0, reason = NULL, since = NULL WHERE state = 'parked' AND feed = ?")
  const perFeed = db.prepare<[], { feed: string, state: string, n: number }>('SELECT feed, state, count(*) AS n FROM push_items GROUP BY feed, state')
  const retrying = db.prepare<[], { n: number, oldest: number | null }>(
    "SELECT count(attempts > 0 OR NULL) AS n, min(queued_at) AS oldest FROM push_items WHERE state = 'pending'")
  const lastRetry = db.prepare<[], string>(
    "SELECT reason FROM push_items WHERE state = 'pending' AND attempts > 0 ORDER BY since DESC LIMIT 1").pluck()
  const lastSuccess = db.prepare<[], number | null>('SELECT last_success_at FROM rubeus_push WHERE id = 1').pluck()
  const parked = db.prepare<[number], ParkedRecord>(
    "SELECT feed, reason, since FROM push_items WHERE state = 'parked' ORDER BY since, seq LIMIT ?")
  const moving = db.prepare<[], { n: number, oldest: number | null }>(
    `SELECT count(*) AS n, min(queued_at) AS oldest FROM push_items p WHERE state = 'pending' AND NOT ${PARKED}`)

  const done = db.transaction((item: PushItem, now: number) => {
    if (item.feed === CONTACTS_FEED) doneContact.run(item.codigo, Math.max(item.seq, item.covers))
    else doneOne.run(item.seq)
    succeeded.run(now)
  })

  return {
    /** Hands a feed's released records from `firstSeq` to `lastSeq` to the pusher (again, after a rewind). */
    enqueue (feed: string, firstSeq: number, lastSeq: number, now: number): number {
      return enqueue.run(now, feed, firstSeq, lastSeq).changes
    },
    /** Up to `limit` contact keys with a record to push and none parked, oldest first, leaving out those in `busy`. */
    ready (limit: number, busy: ReadonlySet<string> | ReadonlyMap<string, unknown>): string[] {
      const found = new Set<string>()
      if (limit <= 0) return []
      for (const codigo of pendingInOrder.iterate()) {
        if (busy.has(codigo)) continue
        found.add(codigo)
        if (found.size >= limit) break
      }
      return [...found]
    },
    /** The contact's next record to push: its contact record first, then its events by (date, id). */
    next: (codigo: string): PushItem | undefined => next.get(codigo),
    rubeusId: (codigo: string): string | undefined => rubeusId.get(codigo),
    /** Keeps the contact's Rubeus id (looked up, or answered by its creation). */
    remember (codigo: string, id: string, now: number): void { remember.run(codigo, id, now) },
    /**
     * Rubeus took the record: it leaves the queue (a contact record with every older pending one of
     * its key, which the push sent as it stands).
     */
    done (item: PushItem, now: number): void { done.immediate(item, now) },
    /** An attempt failed and will be tried again (network, time-out, 408, 429, 5xx): counted, with why. */
    failed (item: PushItem, reason: string, now: number): void { failed.run(reason, now, item.seq) },
    /** Rubeus refused the record: it waits, with that contact's later records, for `retry-parked`. */
    park (item: PushItem, reason: string, now: number): void { park.run(reason, now, item.seq) },
    /** Parked records (of one feed, or all) queued again; returns how many. */
    retryParked: (feed?: string): number => (feed === undefined ? retryAll.run() : retryFeed.run(feed)).changes,

    counts (): PushCounts {
      const feeds: PushCounts['feeds'] = {}
      let pending = 0
      let parkedCount = 0
      for (const { feed, state, n } of perFeed.all()) {
        const f = (feeds[feed] ??= { pending: 0, parked: 0 })
        if (state === 'parked') {
          f.parked = n
          parkedCount += n
        } else {
          f.pending = n
          pending += n
        }
      }
      const r = retrying.get()
      return {
        feeds,
        pending,
        retrying: r?.n ?? 0,
        parked: parkedCount,
        oldestPendingAt: r?.oldest ?? undefined,
        lastSuccessAt: lastSuccess.get() ?? undefined,
        lastRetryReason: (r?.n ?? 0) > 0 ? lastRetry.get() : undefined
      }
    },
    /** The oldest parked records, with Rubeus's reasons. */
    parked: (limit = PARKED_LISTED): ParkedRecord[] => parked.all(limit),
    /**
     * Pending records that are not held behind a parked record of their contact: what the pusher is
     * working through (a backlog of these means Rubeus fails or is slow), and when the oldest was queued.
     */
    moving (): { pending: number, oldestAt: number | undefined } {
      const r = moving.get()
      return { pending: r?.n ?? 0, oldestAt: r?.oldest ?? undefined }
    }
  }
}

export type Push = ReturnType<typeof createPush>
