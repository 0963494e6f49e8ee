/**
 * The outbound core: what happens to a feed's records between "mapped" and "delivered", whatever
 * carries them to Rubeus. A driver (the poll route today) takes a turn on a feed, hands the turn's
 * batch to Rubeus its own way, and settles it: delivered (the cursor moves past it) or not delivered
 * (the same records come again). Turns on one feed follow one another, so two drivers never hand out
 * the same record and never skip one. A delivered batch whose outcome cannot be written (a full disk)
 * is kept here, and written before the feed hands out anything else.
 */
import { DatabaseUnavailableError } from '../errors.js'
import type { Mapper } from '../mapping/mapper.js'
import type { Metrics } from '../ops/metrics.js'
import type { Batch, Feeds } from '../store/feeds.js'
import type { WriteHealth } from '../store/plugin.js'
import { sqliteCode } from '../store/sqlite.js'

export type Outcome = 'delivered' | 'not-delivered'

/** Where the core says what became of each batch (a request's logger, or the service's). */
export interface OutboundLog {
  info: (fields: Record<string, unknown>, message: string) => void
  error: (fields: Record<string, unknown>, message: string) => void
}

export interface Turn {
  /** The batch handed out in this turn; undefined when nothing is released. */
  batch: Batch | undefined
  /** Records of the feed still to go out after this batch: released, or waiting. */
  remaining: number
  /**
   * What became of the batch: delivered (handed whole to Rubeus's side), or not (the records come
   * again). `within` writes what the driver keeps of a delivered batch in the same transaction (the
   * pusher's queue). Returns whether that was written down.
   */
  settle: (outcome: Outcome, within?: () => void) => boolean
  /** Ends the turn (always, in a `finally`): a batch not settled by then was not delivered. */
  end: () => void
}

export interface OutboundOptions {
  feeds: Feeds
  writes: WriteHealth
  mapper: Mapper
  metrics: Pick<Metrics, 'feedBatches' | 'feedRecords'>
  batchSize: number
  settleMs: number
}

/** One turn at a time per feed: a queue of promises, each released when its turn ends. */
function feedTurns () {
  const tails = new Map<string, Promise<void>>()
  return async (feed: string): Promise<() => void> => {
    const previous = tails.get(feed) ?? Promise.resolve()
    let unlock!: () => void
    const mine = new Promise<void>((resolve) => { unlock = resolve })
    const tail = previous.then(() => mine)
    tails.set(feed, tail)
    await previous
    return () => {
      unlock()
      if (tails.get(feed) === tail) tails.delete(feed)
    }
  }
}

export function createOutbound ({ feeds, writes, mapper, metrics, batchSize, settleMs }: OutboundOptions) {
  const turns = feedTurns()
  /** Per feed, a delivered batch whose outcome could not be written yet (with what goes in its transaction). */
  const unrecorded = new Map<string, { batch: Batch, within?: (() => void) | undefined }>()

  /** Writes the batch's outcome; false (and logged) when the database refused it. */
  function record (batch: Batch, outcome: Outcome, log: OutboundLog, within?: () => void): boolean {
    const delivered = outcome === 'delivered'
    const logged = delivered ? 'served' : 'aborted'
    try {
      if (delivered) feeds.served(batch, Date.now(), within)
      else feeds.aborted(batch, Date.now()) // if this fails, the batch stays `cut`: aborted at the next start
      writes.report()
      unrecorded.delete(batch.feed)
    } catch (err) {
      writes.report(err)
      if (delivered) unrecorded.set(batch.feed, { batch, within })
      log.error({ code: sqliteCode(err), feed: batch.feed, batchId: batch.id, outcome: logged },
        delivered ? 'could not record that the batch was served; the feed serves nothing until it is recorded' : 'could not record the batch outcome')
      return false
    }
    metrics.feedBatches.inc({ feed: batch.feed, outcome: logged })
    if (delivered) metrics.feedRecords.inc({ feed: batch.feed }, batch.count)
    log.info({ feed: batch.feed, batchId: batch.id, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, count: batch.count, outcome: logged }, 'feed batch')
    return true
  }

  return {
    /**
     * Waits for the feed's turn, then cuts its next batch: first the backlog is mapped (in turns of
     * the event loop, so other requests keep flowing), then what is ready is released in date order.
     * `caller` is who takes it (shown on the console); `gone` is asked once the turn comes: when it
     * says the taker left meanwhile, no turn is taken (undefined); `polled: false` records no poll
     * (the pusher is no poller). Throws when an earlier delivered
     * batch's outcome still cannot be written (nothing may go out twice).
     */
    async take (feed: string, opts: { caller: string | null, log: OutboundLog, gone?: () => boolean, polled?: boolean }): Promise<Turn | undefined> {
      await mapper.catchUpInTurns()
      const end = await turns(feed)
      try {
        if (opts.gone?.() === true) {
          end()
          return undefined
        }
        const pending = unrecorded.get(feed)
        if (pending !== undefined && !record(pending.batch, 'delivered', opts.log, pending.within)) {
          throw new DatabaseUnavailableError(`the outcome of batch ${pending.batch.id} cannot be written`)
        }
        mapper.catchUp() // what arrived while this turn waited
        const now = Date.now()
        if (opts.polled !== false) feeds.polled(feed, opts.caller, now) // also when nothing is waiting: the console shows who polls
        feeds.release(feed, now, settleMs, batchSize)
        const batch = feeds.cut(feed, batchSize, opts.caller, now)
        let settled = batch === undefined
        return {
          batch,
          remaining: feeds.remaining(feed, batch),
          settle (outcome, within) {
            if (settled) return true
            settled = true
            return record(batch!, outcome, opts.log, within)
          },
          end () {
            if (!settled) {
              settled = true
              record(batch!, 'not-delivered', opts.log)
            }
            end()
          }
        }
      } catch (err) {
        end()
        throw err
      }
    },

    /** What a look that takes nothing sees (a HEAD): records still to go out, and where the cursor stands. */
    async peek (feed: string): Promise<{ remaining: number, cursor: number }> {
      await mapper.catchUpInTurns()
      return { remaining: feeds.remaining(feed), cursor: feeds.cursor(feed) }
    }
  }
}

export type Outbound = ReturnType<typeof createOutbound>

declare module 'fastify' {
  interface FastifyInstance {
    /** The feeds' outbound core, shared by whatever drives delivery (the poll route). */
    outbound: Outbound
  }
}
