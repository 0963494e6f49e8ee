/**
 * Work done beside the requests: mapping stored deliveries into Rubeus records right behind ingest,
 * retention, and, with a Gupy API token, reconciliation and the subscription watchdog. The mapper it
 * decorates is the one a feed poll also uses to catch up before it cuts.
 */
import fp from 'fastify-plugin'
import { createGupyApi, safeReason, type GupyApi } from '../gupy/api.js'
import { reconcile } from '../gupy/reconcile.js'
import type { Wanted } from '../gupy/subscriptions.js'
import { watchSubscriptions } from '../gupy/watchdog.js'
import type { Run, RunKind } from '../store/gupy-state.js'
import { createMapper, type Mapper } from '../mapping/mapper.js'
import type { ContactExtras } from '../mapping/contact.js'
import type { Mapping } from '../mapping/mapping-file.js'
import { sharedBudget } from '../store/gupy-budget.js'
import { isBusy, isStorageError, sqliteCode } from '../store/sqlite.js'
import { BACKGROUND_RETRY_MS, BACKGROUND_STEP_MS } from '../store/contention.js'

export interface BackgroundOptions {
  mapping: Mapping
  timeZone: string
  extras: ContactExtras
  retentionDays: number
  /** Gupy's API, when GUPY_API_TOKEN is set. */
  gupy?: GupyWorkOptions | undefined
}

export interface GupyWorkOptions {
  baseUrl: string
  token: string
  requestsPerMinute: number
  /** The whole-answer deadline of each request (GUPY_API_TIMEOUT_SECONDS). */
  timeoutMs: number
  /** 0: off. */
  reconcileMinutes: number
  watchMinutes: number
  /** The subscriptions wanted (PUBLIC_URL and a secret known); the watchdog is off without them. */
  want?: Wanted | undefined
  repair: boolean
}

/** Runs of the work against Gupy's API, now; a run already under way is joined, not doubled. */
export interface GupyWork {
  reconcile?: () => Promise<Run>
  watch?: () => Promise<Run>
}

declare module 'fastify' {
  interface FastifyInstance {
    mapper: Mapper
    gupyWork: GupyWork
  }
}

/**
 * Mapping trails ingest by MAP_DELAY_MS: a step follows a commit after that delay (at once while
 * the previous step was full or ran out of time), mapping up to MAP_STEP deliveries in one
 * transaction for at most about BACKGROUND_STEP_MS (src/store/contention.ts). During a burst that keeps pace with ingest in small
 * transactions between commits; waiting a little lets one transaction map what several commits
 * stored. The time bound keeps a step short when the machine is slow or busy (a command mapping
 * beside the service), so the event loop never waits long on mapping.
 */
const MAP_STEP = 100
const MAP_DELAY_MS = 25
/** Retention runs at start-up and then hourly. */
const PURGE_EVERY_MS = 3_600_000

export default fp<BackgroundOptions>(async (app, opts) => {
  const { store, metrics } = app
  const mapper = createMapper(store, {
    mapping: opts.mapping,
    timeZone: opts.timeZone,
    extras: opts.extras,
    onFailure: (reason) => metrics.mappingFailures.inc({ reason })
  })
  app.decorate('mapper', mapper)

  let scheduled: NodeJS.Timeout | undefined
  let closed = false
  function mapSoon (delayMs = MAP_DELAY_MS): void {
    // A damaged file is neither read nor written; a restart (which checks the file) maps what waits.
    if (!closed && store.writes.damaged === undefined) scheduled ??= setTimeout(mapStep, delayMs)
  }
  function mapStep (): void {
    scheduled = undefined
    try {
      const started = performance.now()
      const mapped = mapper.step(MAP_STEP, BACKGROUND_STEP_MS)
      if (mapped > 0) store.writes.report()
      if (mapped === MAP_STEP || (mapped > 0 && performance.now() - started >= BACKGROUND_STEP_MS)) mapSoon(0) // more may wait
    } catch (err) {
      store.writes.report(err)
      if (isBusy(err)) app.log.warn({ code: sqliteCode(err) }, 'background mapping waits: the database is locked by another connection')
      else app.log.error({ err }, 'background mapping failed; it is retried in a second and before the next poll')
      if (isStorageError(err)) mapSoon(BACKGROUND_RETRY_MS)
    }
  }
  store.ingest.onCommit(() => mapSoon())

  let purging: Promise<void> | undefined
  function purge (): void {
    if (store.writes.damaged !== undefined) return
    purging ??= store.retention.purge(opts.retentionDays, Date.now(), () => closed).then((purged) => {
      for (const [kind, n] of Object.entries(purged)) metrics.retentionRemoved.inc({ kind }, n)
      if (Object.values(purged).some((n) => n > 0)) app.log.info({ ...purged, retentionDays: opts.retentionDays }, 'retention purge')
    }, (err: unknown) => {
      store.writes.report(err)
      app.log.error({ err }, 'retention purge failed; it runs again in an hour')
    }).finally(() => { purging = undefined })
  }
  const purgeTimer = setInterval(purge, PURGE_EVERY_MS).unref()

  // The time of the last webhook, then of every commit (deliveries made from Gupy's API do not go through ingest).
  const lastWebhook = store.inbox.lastWebhookAt()
  if (lastWebhook !== undefined) metrics.lastDelivery.set(lastWebhook / 1000)
  store.ingest.onCommit(() => metrics.lastDelivery.set(Date.now() / 1000))

  const aborter = new AbortController()
  const gupyWork: GupyWork = {}
  const timers: NodeJS.Timeout[] = []
  const running = new Set<Promise<Run>>()
  if (opts.gupy !== undefined) {
    const g = opts.gupy
    const api = createGupyApi({
      baseUrl: g.baseUrl,
      token: g.token,
      requestsPerMinute: g.requestsPerMinute,
      timeoutMs: g.timeoutMs,
      signal: aborter.signal,
      // One budget with every command on the database (an import beside the service stays under Gupy's limit).
      budget: sharedBudget(store.db),
      onWait: (ms, reason, kind) => {
        const waitSeconds = Math.ceil(ms / 1000)
        if (kind === 'pause') app.log.warn({ waitSeconds, reason }, 'Gupy\'s rate limit: every process on this database pauses its requests to Gupy')
        else if (kind === 'budget') app.log.info({ waitSeconds, reason }, 'waiting for Gupy\'s request budget')
        else app.log.warn({ waitSeconds, reason }, 'Gupy failed a request; retrying')
      }
    })

    /** A run: logged and kept for `status` whatever happens; a failure waits for the next interval. */
    const runner = (kind: RunKind, work: (api: GupyApi) => Promise<Record<string, unknown>>) => {
      let current: Promise<Run> | undefined
      return (): Promise<Run> => {
        current ??= (async (): Promise<Run> => {
          const startedAt = Date.now()
          const callsBefore = api.requests()
          const waitsBefore = api.waits()
          let run: Run
          try {
            if (store.writes.damaged !== undefined) throw new Error('the database file is damaged')
            const summary = await work(api)
            run = { kind, startedAt, finishedAt: Date.now(), ok: true, summary }
            app.log.info({ kind, ...summary }, `gupy ${kind} run`)
          } catch (err) {
            store.writes.report(err) // damage met while storing what the run found
            run = { kind, startedAt, finishedAt: Date.now(), ok: false, summary: {}, error: safeReason(err) }
            if (!aborter.signal.aborted) app.log.error({ kind, reason: run.error }, `gupy ${kind} run failed; it runs again at the next interval`)
          }
          metrics.gupyRuns.inc({ kind, outcome: run.ok ? 'ok' : 'failed' })
          metrics.gupyRequests.inc(api.requests() - callsBefore)
          metrics.gupyBudgetWait.inc((api.waits().ms - waitsBefore.ms) / 1000)
          metrics.gupyRateLimited.inc(api.waits().rateLimited - waitsBefore.rateLimited)
          if (!closed && store.writes.damaged === undefined) store.gupy.saveRun(run)
          return run
        })().finally(() => {
          running.delete(current!)
          current = undefined
        })
        running.add(current)
        return current
      }
    }
    const every = (minutes: number, run: () => Promise<Run>) => {
      if (minutes > 0) timers.push(setInterval(() => { run().catch(() => {}) }, minutes * 60_000).unref())
    }

    if (g.reconcileMinutes > 0) {
      gupyWork.reconcile = runner('reconcile', async (client) => {
        const summary = await reconcile({ api: client, store, onLeftOut: (message) => app.log.warn({ kind: 'reconcile' }, `Gupy: ${message}`) })
        for (const [status, n] of Object.entries(summary.outcomes)) metrics.outcomesFound.inc({ status }, n)
        mapSoon(0)
        return { ...summary }
      })
      every(g.reconcileMinutes, gupyWork.reconcile)
    }
    const want = g.want
    if (g.watchMinutes > 0 && want !== undefined) {
      gupyWork.watch = runner('watch', async (client) => {
        const ownership = {
          owned: store.gupy.ownedSubscriptions(),
          record: (id: string, action: string, postbackUrl: string) => { store.gupy.recordSubscription(id, action, postbackUrl, Date.now()) }
        }
        const results = await watchSubscriptions(client, want, g.repair, ownership, (fields, message) => app.log.warn(fields, message))
        for (const r of results) metrics.subscriptionUp.set({ event: r.action }, r.up ? 1 : 0)
        return { subscriptions: results.map(({ action, state, repair, up }) => ({ action, state, repair, up })) }
      })
      every(g.watchMinutes, gupyWork.watch)
    }
  }
  app.decorate('gupyWork', gupyWork)

  app.addHook('onReady', async () => {
    mapSoon(0) // deliveries a previous run left unmapped
    purge()
    gupyWork.watch?.().catch(() => {}) // at start-up, without holding it up
  })
  // Before the store closes its database.
  app.addHook('onClose', async () => {
    closed = true // the store's last commits are mapped by the next start
    clearTimeout(scheduled)
    clearInterval(purgeTimer)
    for (const timer of timers) clearInterval(timer)
    aborter.abort() // a run waiting on Gupy stops now
    await Promise.allSettled([...running, purging])
  })
}, { name: 'background', dependencies: ['store', 'metrics'] })
