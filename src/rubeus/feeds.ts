/** GET /rubeus/contatos and /rubeus/eventos/<feed>: Rubeus's fixed URLs, each record served once. */
import type { FastifyPluginAsyncZod } from '@fastify/type-provider-zod'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Gauge } from 'prom-client'
import { z } from 'zod'
import { loginGuard } from '../credentials.js'
import { DatabaseUnavailableError, NotFoundError } from '../errors.js'
import { CONTACTS_FEED, MAX_BATCH_SIZE } from '../vocabulary/rubeus-feeds.js'
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

const feeds: FastifyPluginAsyncZod<FeedsOptions> = async (app, opts) => {
  const auth = feedAuth(opts.auth)
  const known = new Set([CONTACTS_FEED, ...opts.eventFeeds])
  const settleMs = opts.settleSeconds * 1000
  const { store, metrics } = app

  new Gauge({ // eslint-disable-line no-new -- registered, read at each scrape
    name: 'bridge_feed_waiting_records',
    help: 'Records per feed not yet served: released, settling, waiting_for_contact (events), held (contacts missing data)',
    labelNames: ['feed', 'state'] as const,
    registers: [metrics.registry],
    collect () {
      if (store.writes.damaged !== undefined) return // the last values stay; the file is not read
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
  // Nothing is served from a damaged file: records read from it could be wrong or go out twice.
  app.addHook('onRequest', (_request, _reply, done) => {
    done(store.writes.damaged === undefined ? undefined : new DatabaseUnavailableError('the database file is damaged'))
  })

  async function serve (feed: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!known.has(feed)) throw new NotFoundError(`no feed named "${feed}"`)
    const query = request.query as z.infer<typeof BrowseQuery>
    request.logFields = { feed }
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-store')
    if (query.after !== undefined || query.limit !== undefined) return browse(feed, query, reply)

    // Only a GET hands out a batch. Fastify answers HEAD on every GET route through this handler, and
    // an uptime monitor's or an operator's `curl -I` must not consume a batch nobody reads: it is
    // told what is waiting, and nothing moves.
    if (request.method !== 'GET') {
      const { remaining, cursor } = await app.outbound.peek(feed)
      return reply.header('x-remaining', remaining).header('x-cursor', cursor).send('[]')
    }
    const turn = await app.outbound.take(feed, { caller: request.ip, log: request.log, gone: () => request.socket?.destroyed === true })
    if (turn === undefined) return reply.code(499).send() // the caller left while waiting its turn
    try {
      const { batch, remaining } = turn
      if (batch === undefined) return reply.header('x-remaining', remaining).send('[]')
      request.logFields = { feed, batchId: batch.id, records: batch.count }
      const written = handedToSystem(reply)
      reply.header('x-batch-id', batch.id).header('x-remaining', remaining).send(batch.body)
      turn.settle(await written ? 'delivered' : 'not-delivered')
      return reply
    } finally {
      turn.end() // the next poll of this feed cuts after this batch's outcome is recorded
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
