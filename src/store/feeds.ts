/** The feeds repository: release (settle window, date order, sequence), batches, cursors, browsing. */
import type { Database } from './sqlite.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'

export interface Batch {
  id: number
  feed: string
  firstSeq: number
  lastSeq: number
  /** The feed's number for the last record. */
  lastOrd: number
  /** Where the cursor stood when the batch was cut: a rewind meanwhile wins over this batch. */
  cursorAtCut: number
  count: number
  /** The JSON array, built from the stored record strings. */
  body: string
}

/** An outbox record on its way into the feed. */
interface Released { feed: string, codigo: string, delivery_seq: number, event_date: number, event_id: string, record: string | null }

/** A batch as the batch log keeps it. */
export interface LoggedBatch { id: number, count: number, cut_at: number, outcome: string, caller: string | null }

export interface FeedCounts {
  /** Written out so far (the cursor's place in the feed's numbering). */
  served: number
  /** Released and not yet written out. */
  released: number
  /** In the outbox, inside their settle window. */
  settling: number
  /** Events whose contact has not been delivered yet; contacts held back for missing data. */
  waitingForContact: number
  held: number
}

/** An outbox row is ready when its settle window has passed and, for an event, its contact went out. */
const READY = {
  contacts: `feed = '${CONTACTS_FEED}' AND received_at <= @cutoff
    AND EXISTS (SELECT 1 FROM contacts c WHERE c.codigo = outbox.codigo AND c.record IS NOT NULL)`,
  events: `feed = @feed AND received_at <= @cutoff
    AND EXISTS (SELECT 1 FROM delivered_contacts d WHERE d.codigo = outbox.codigo)`
}

export function createFeeds (db: Database) {
  const cursorOf = db.prepare<[string], { last_seq: number, last_ord: number }>('SELECT last_seq, last_ord FROM feed_cursors WHERE feed = ?')
  const lastOrd = db.prepare<[string], { ord: number }>('SELECT ord FROM feed_items WHERE feed = ? ORDER BY seq DESC LIMIT 1')
  // The oldest ready records, by (date, id), taken out of the outbox; the index on (feed, event_date,
  // event_id) is walked in that order, so a poll costs the records it releases, not the outbox's size.
  const takeReady = (ready: string) => `
    DELETE FROM outbox WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_release WHERE ${ready} ORDER BY event_date, event_id LIMIT @limit)
    RETURNING feed, codigo, delivery_seq, event_date, event_id, record`
  const take = {
    contacts: db.prepare<{ cutoff: number, limit: number }, Released>(takeReady(READY.contacts)),
    events: db.prepare<{ feed: string, cutoff: number, limit: number }, Released>(takeReady(READY.events))
  }
  // A contact change is already covered by a released, unserved item of that contact (served as it stands).
  const covered = db.prepare<[string, number], number>(
    `SELECT 1 FROM feed_items WHERE codigo = ? AND feed = '${CONTACTS_FEED}' AND seq > ? LIMIT 1`).pluck()
  const insertItem = db.prepare<[string, number, string, number, number, string, number, string | null]>(`
    INSERT INTO feed_items (feed, ord, codigo, delivery_seq, event_date, event_id, released_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const items = {
    contacts: db.prepare<[number, number], { seq: number, ord: number, record: string }>(`
      SELECT fi.seq, fi.ord, c.record FROM feed_items fi JOIN contacts c ON c.codigo = fi.codigo
      WHERE fi.feed = '${CONTACTS_FEED}' AND fi.seq > ? AND c.record IS NOT NULL ORDER BY fi.seq LIMIT ?`),
    events: db.prepare<[string, number, number], { seq: number, ord: number, record: string }>(
      'SELECT seq, ord, record FROM feed_items WHERE feed = ? AND seq > ? ORDER BY seq LIMIT ?')
  }
  const logBatch = db.prepare<[string, number, number, number, number, string | null], { id: number }>(`
    INSERT INTO feed_batches (feed, first_seq, last_seq, count, cut_at, outcome, caller)
    VALUES (?, ?, ?, ?, ?, 'cut', ?) RETURNING id`)
  const endBatch = db.prepare<[string, number, number]>('UPDATE feed_batches SET outcome = ?, finished_at = ? WHERE id = ?')
  const moveCursor = db.prepare<{ feed: string, seq: number, ord: number, now: number, from: number }>(`
    INSERT INTO feed_cursors (feed, last_seq, last_ord, updated_at) VALUES (@feed, @seq, @ord, @now)
    ON CONFLICT (feed) DO UPDATE SET last_seq = excluded.last_seq, last_ord = excluded.last_ord, updated_at = excluded.updated_at
    WHERE feed_cursors.last_seq = @from`)
  const setCursor = db.prepare<{ feed: string, seq: number, ord: number, now: number }>(`
    INSERT INTO feed_cursors (feed, last_seq, last_ord, updated_at) VALUES (@feed, @seq, @ord, @now)
    ON CONFLICT (feed) DO UPDATE SET last_seq = excluded.last_seq, last_ord = excluded.last_ord, updated_at = excluded.updated_at`)
  const batchById = db.prepare<[number], { id: number, feed: string, first_seq: number, outcome: string }>(
    'SELECT id, feed, first_seq, outcome FROM feed_batches WHERE id = ?')
  const firstServedSince = db.prepare<[string, number], { id: number, feed: string, first_seq: number, outcome: string }>(
    "SELECT id, feed, first_seq, outcome FROM feed_batches WHERE feed = ? AND outcome = 'served' AND cut_at >= ? ORDER BY id LIMIT 1")
  const itemAt = db.prepare<[string, number], { seq: number, ord: number }>(
    'SELECT seq, ord FROM feed_items WHERE feed = ? AND seq >= ? ORDER BY seq LIMIT 1')
  const recoverInterrupted = db.prepare("UPDATE feed_batches SET outcome = 'aborted' WHERE outcome = 'cut'")
  const markDelivered = db.prepare<[number, number]>(`
    INSERT INTO delivered_contacts (codigo)
    SELECT codigo FROM feed_items WHERE feed = '${CONTACTS_FEED}' AND seq BETWEEN ? AND ? ORDER BY codigo
    ON CONFLICT DO NOTHING`)
  const inOutbox = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM outbox WHERE feed = ?')
  const countSettling = db.prepare<[string, number], { n: number }>('SELECT count(*) AS n FROM outbox WHERE feed = ? AND received_at > ?')
  const countWaitingForContact = db.prepare<[string], { n: number }>(`
    SELECT count(*) AS n FROM outbox o WHERE o.feed = ?
    AND NOT EXISTS (SELECT 1 FROM delivered_contacts d WHERE d.codigo = o.codigo)`)
  const countHeld = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM contacts WHERE record IS NULL')
  const lastBatches = db.prepare<[string, number], LoggedBatch>(
    'SELECT id, count, cut_at, outcome, caller FROM feed_batches WHERE feed = ? ORDER BY id DESC LIMIT ?')
  const heldReasons = db.prepare<[], { reason: string, count: number }>(
    'SELECT held AS reason, count(*) AS count FROM contacts WHERE record IS NULL GROUP BY held ORDER BY count DESC')
  const polled = db.prepare<[string, number, string | null]>(`
    INSERT INTO feed_polls (feed, at, caller) VALUES (?, ?, ?)
    ON CONFLICT (feed) DO UPDATE SET at = excluded.at, caller = excluded.caller`)
  const lastPoll = db.prepare<[string], { at: number, caller: string | null }>('SELECT at, caller FROM feed_polls WHERE feed = ?')
  const cursor = (feed: string) => cursorOf.get(feed)?.last_seq ?? 0
  /** Released records after the one numbered `ord`, by the feed's numbering. */
  const releasedAfter = (feed: string, ord: number) => Math.max(0, (lastOrd.get(feed)?.ord ?? 0) - ord)

  /** Releases up to `wanted` ready records of the feed, oldest (date, id) first; returns how many. */
  const releaseReady = db.transaction((feed: string, now: number, settleMs: number, wanted: number) => {
    const cutoff = now - settleMs
    let ord = lastOrd.get(feed)?.ord ?? 0
    const at = cursor(feed)
    let released = 0
    while (released < wanted) {
      const limit = wanted - released
      const rows = feed === CONTACTS_FEED ? take.contacts.all({ cutoff, limit }) : take.events.all({ feed, cutoff, limit })
      if (rows.length === 0) break
      rows.sort((x, y) => x.event_date - y.event_date || (x.event_id < y.event_id ? -1 : x.event_id > y.event_id ? 1 : 0))
      for (const r of rows) {
        if (feed === CONTACTS_FEED && covered.get(r.codigo, at) !== undefined) continue
        insertItem.run(feed, ++ord, r.codigo, r.delivery_seq, r.event_date, r.event_id, now, r.record)
        released++
      }
    }
    return released
  })

  const markServed = db.transaction((batch: Batch, now: number, within?: () => void) => {
    within?.()
    endBatch.run('served', now, batch.id)
    moveCursor.run({ feed: batch.feed, seq: batch.lastSeq, ord: batch.lastOrd, now, from: batch.cursorAtCut })
    if (batch.feed === CONTACTS_FEED) markDelivered.run(batch.firstSeq, batch.lastSeq)
  })

  const rewindTx = db.transaction((feed: string, to: { batchId: number } | { since: number }, now: number) => {
    const batch = 'batchId' in to ? batchById.get(to.batchId) : firstServedSince.get(feed, to.since)
    if (batch === undefined) {
      throw new RangeError('batchId' in to ? `no batch ${to.batchId}` : `no ${feed} batch was served since ${new Date(to.since).toISOString()}`)
    }
    if (batch.feed !== feed) throw new RangeError(`batch ${batch.id} belongs to the feed ${batch.feed}, not ${feed}`)
    const first = itemAt.get(feed, batch.first_seq)
    if (first === undefined) throw new RangeError(`the records of batch ${batch.id} were removed by retention`)
    setCursor.run({ feed, seq: first.seq - 1, ord: first.ord - 1, now })
    return { batchId: batch.id, ahead: releasedAfter(feed, first.ord - 1) }
  })

  function read (feed: string, after: number, limit: number) {
    return feed === CONTACTS_FEED ? items.contacts.all(after, limit) : items.events.all(feed, after, limit)
  }

  const toBody = (rows: Array<{ record: string }>) => `[${rows.map((r) => r.record).join(',')}]`

  return {
    cursor,

    /**
     * Moves ready outbox records into the feed, sorted by (date, id), until `wanted` records are
     * released and not yet served (a poll asks for one batch); returns how many it moved.
     */
    release (feed: string, now: number, settleMs: number, wanted: number): number {
      const ahead = releasedAfter(feed, cursorOf.get(feed)?.last_ord ?? 0)
      return ahead >= wanted ? 0 : releaseReady.immediate(feed, now, settleMs, wanted - ahead)
    },

    /** The next batch after the cursor, logged as `cut`; undefined when nothing is released. */
    cut (feed: string, limit: number, caller: string | null, now: number): Batch | undefined {
      const cursorAtCut = cursor(feed)
      const rows = read(feed, cursorAtCut, limit)
      if (rows.length === 0) return undefined
      const firstSeq = rows[0]!.seq
      const lastSeq = rows[rows.length - 1]!.seq
      const { id } = logBatch.get(feed, firstSeq, lastSeq, rows.length, now, caller)!
      return { id, feed, firstSeq, lastSeq, lastOrd: rows[rows.length - 1]!.ord, cursorAtCut, count: rows.length, body: toBody(rows) }
    },

    /** The batch was handed over (to the connection, or to the pusher by `within`, in the same transaction): the cursor moves past it. */
    served: (batch: Batch, now: number, within?: () => void): void => { markServed.immediate(batch, now, within) },

    /** The batch did not reach the connection: the cursor stays, the records come again. */
    aborted (batch: Batch, now: number): void {
      endBatch.run('aborted', now, batch.id)
    },

    /** At start-up: a batch still `cut` was cut off by a crash before it was written out. */
    recoverInterrupted: () => recoverInterrupted.run().changes,

    /**
     * Moves the feed's cursor back to just before a served batch (by id, or the first one cut at
     * or after `since`): that batch and every later one are served again. Returns the batch and
     * how many released records are now ahead of the cursor.
     */
    rewind: (feed: string, to: { batchId: number } | { since: number }, now: number) => rewindTx.immediate(feed, to, now),

    /** Records of the feed still to be served after the batch (or the cursor): released or waiting. */
    remaining (feed: string, batch?: Batch): number {
      return releasedAfter(feed, batch?.lastOrd ?? cursorOf.get(feed)?.last_ord ?? 0) + (inOutbox.get(feed)?.n ?? 0)
    },

    /** Read-only: released records after `after`, whatever the cursor. */
    browse (feed: string, after: number, limit: number): { body: string, lastSeq?: number } {
      const rows = read(feed, after, limit)
      return { body: toBody(rows), lastSeq: rows.at(-1)?.seq }
    },

    /** The feed's latest `n` batches, newest first. */
    lastBatches: (feed: string, n: number): LoggedBatch[] => lastBatches.all(feed, n),

    /** Records that Rubeus polled the feed (`caller` is the address the request came from). */
    polled: (feed: string, caller: string | null, now: number): void => { polled.run(feed, now, caller) },
    lastPoll: (feed: string): { at: number, caller: string | null } | undefined => lastPoll.get(feed),

    /** Contacts held back for missing data, by reason (reasons never hold personal data). */
    heldReasons: () => heldReasons.all(),

    counts (feed: string, now: number, settleMs: number): FeedCounts {
      const served = cursorOf.get(feed)?.last_ord ?? 0
      return {
        served,
        released: releasedAfter(feed, served),
        settling: countSettling.get(feed, now - settleMs)?.n ?? 0,
        waitingForContact: feed === CONTACTS_FEED ? 0 : (countWaitingForContact.get(feed)?.n ?? 0),
        held: feed === CONTACTS_FEED ? (countHeld.get()?.n ?? 0) : 0
      }
    }
  }
}

export type Feeds = ReturnType<typeof createFeeds>
