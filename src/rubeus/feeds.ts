/** GET /rubeus/contatos and /rubeus/eventos/<feed>: Rubeus's fixed URLs, each record served once. */
import type { FastifyPluginAsyncZod } from '@fastify/type-provider-zod'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Gauge } from 'prom-client'
import { z } from 'zod'
import { loginGuard } from '../credentials.js'
import { DatabaseUnavailableError, NotFoundError } from '../errors.js'
import { sqliteCode } from '../store/sqlite.js'
import type { Batch } from '../store/feeds.js'
import { CONTACTS_FEED, MAX_BATCH_SIZE } from './contract.js'
import { feedAuth, type FeedAuthOptions } from './auth.js'

export interface FeedsOptions {
  auth: FeedAuthOptions
  /** Event feed names (from the mapping). */
  eventFeeds: readonly string[]
  batchSize: number
  settleSeconds: number
}

/** A response not handed to the connection by then is cut off (Rubeus gives up after 3 minutes). */
const WRITE_TIMEOUT_MS = 60_000

const BrowseQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_BATCH_SIZE).optional()
})

/** One poll at a time per feed: a queue of promises, each released when its batch is settled. */
function feedLocks () {
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

const feeds: FastifyPluginAsyncZod<FeedsOptions> = async (app, opts) => {
  const auth = feedAuth(opts.auth)
  const known = new Set([CONTACTS_FEED, ...opts.eventFeeds])
  const lock = feedLocks()
  /**
   * A batch Rubeus received whose outcome could not be written (a full disk): until it is, the
   * feed serves nothing, or the same records would go out again on every poll.
   */
  const unrecorded = new Map<string, Batch>()
  const settleMs = opts.settleSeconds * 1000
  const { store, metrics } = app

  new Gauge({ // eslint-disable-line no-new -- registered, read at each scrape
    name: 'bridge_feed_waiting_records',
    help: 'Records per feed not yet served: released, settling, waiting_for_contact (events), held (contacts missing data)',
    labelNames: ['feed', 'state'] as const,
    registers: [metrics.registry],
    collect () {
      const now = Date.now()
      for (const feed of known) {
        const c = store.feeds.counts(feed, now, settleMs)
        this.set({ feed, state: 'released' }, c.released)
        this.set({ feed, state: 'settling' }, c.settling)
        if (feed === CONTACTS_FEED) this.set({ feed, state: 'held' }, c.held)
        else this.set({ feed, state: 'waiting_for_contact' }, c.waitingForContact)
      }
    }
  })

  app.addHook('onRequest', loginGuard({ route: 'feeds', check: auth.check, challenge: auth.challenge, failures: metrics.authFailures }))

  async function serve (feed: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!known.has(feed)) throw new NotFoundError(`no feed named "${feed}"`)
    const query = request.query as z.infer<typeof BrowseQuery>
    request.logFields = { feed }
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-store')
    if (query.after !== undefined || query.limit !== undefined) return browse(feed, query, reply)

    await app.mapper.catchUpInTurns() // a backlog is mapped without stalling other requests
    // Only a GET hands out a batch. Fastify answers HEAD on every GET route through this handler, and
    // an uptime monitor's or an operator's `curl -I` must not consume a batch nobody reads: it is
    // told what is waiting, and nothing moves.
    if (request.method !== 'GET') return reply.header('x-remaining', store.feeds.remaining(feed)).header('x-cursor', store.feeds.cursor(feed)).send('[]')
    const unlock = await lock(feed)
    try {
      if (request.socket?.destroyed === true) return reply.code(499).send() // the caller left while waiting its turn
      const pending = unrecorded.get(feed)
      if (pending !== undefined && !settle(pending, true, request)) throw new DatabaseUnavailableError(`the outcome of batch ${pending.id} cannot be written`)
      app.mapper.catchUp()
      const now = Date.now()
      store.feeds.polled(feed, request.ip, now) // also when nothing is waiting: the console shows who polls
      store.feeds.release(feed, now, settleMs, opts.batchSize)
      const batch = store.feeds.cut(feed, opts.batchSize, request.ip, now)
      if (batch === undefined) return reply.header('x-remaining', store.feeds.remaining(feed)).send('[]')
      request.logFields = { feed, batchId: batch.id, records: batch.count }
      const written = handedToSystem(reply)
      reply.header('x-batch-id', batch.id).header('x-remaining', store.feeds.remaining(feed, batch)).send(batch.body)
      settle(batch, await written, request)
      return reply
    } finally {
      unlock() // the next poll of this feed cuts after this batch's outcome is recorded
    }
  }

  /**
   * Resolves true once the whole body was handed to the operating system, false if the response
   * failed or was cut off first (or was not written out within WRITE_TIMEOUT_MS).
   */
  function handedToSystem (reply: FastifyReply): Promise<boolean> {
    const res = reply.raw
    const socket = res.socket // detached from the response by the time 'finish' is emitted
    return new Promise((resolve) => {
      const timer = setTimeout(() => res.destroy(), WRITE_TIMEOUT_MS)
      const done = (written: boolean) => {
        clearTimeout(timer)
        resolve(written)
      }
      // Node emits 'finish' also when the peer reset the connection mid-body: the socket tells them apart.
      res.once('finish', () => done(socket?.destroyed !== true))
      res.once('close', () => done(false))
    })
  }

  /**
   * The cursor moves past the batch only if it was written out; otherwise the records come again.
   * Returns whether the outcome was recorded. A served batch whose outcome cannot be recorded is
   * kept, and recorded before the feed serves anything else.
   */
  function settle (batch: Batch, written: boolean, request: FastifyRequest): boolean {
    const outcome = written ? 'served' : 'aborted'
    try {
      if (written) store.feeds.served(batch, Date.now())
      else store.feeds.aborted(batch, Date.now()) // if this fails, the batch stays `cut`: aborted at the next start
      store.writes.report()
      unrecorded.delete(batch.feed)
    } catch (err) {
      store.writes.report(err)
      if (written) unrecorded.set(batch.feed, batch)
      request.log.error({ code: sqliteCode(err), feed: batch.feed, batchId: batch.id, outcome },
        written ? 'could not record that the batch was served; the feed serves nothing until it is recorded' : 'could not record the batch outcome')
      return false
    }
    metrics.feedBatches.inc({ feed: batch.feed, outcome })
    if (written) metrics.feedRecords.inc({ feed: batch.feed }, batch.count)
    request.log.info({ feed: batch.feed, batchId: batch.id, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, count: batch.count, outcome }, 'feed batch')
    return true
  }

  function browse (feed: string, query: z.infer<typeof BrowseQuery>, reply: FastifyReply) {
    const page = store.feeds.browse(feed, query.after ?? 0, query.limit ?? opts.batchSize)
    if (page.lastSeq !== undefined) reply.header('x-last-seq', page.lastSeq)
    return reply.header('x-cursor', store.feeds.cursor(feed)).send(page.body)
  }

  app.get('/rubeus/contatos', { schema: { querystring: BrowseQuery } }, async (request, reply) =>
    serve(CONTACTS_FEED, request, reply))
  app.get('/rubeus/eventos/:feed', { schema: { querystring: BrowseQuery, params: z.object({ feed: z.string() }) } }, async (request, reply) =>
    serve(request.params.feed, request, reply))
}

export default feeds
