/**
 * Work done beside the requests: mapping stored deliveries into Rubeus records right behind ingest,
 * and retention. The mapper it decorates is the one a feed poll also uses to catch up before it cuts.
 */
import fp from 'fastify-plugin'
import { createMapper, type Mapper } from '../mapping/mapper.js'
import type { ContactExtras } from '../mapping/contact.js'
import type { Mapping } from '../mapping/mapping-file.js'

export interface BackgroundOptions {
  mapping: Mapping
  timeZone: string
  extras: ContactExtras
  retentionDays: number
}

declare module 'fastify' {
  interface FastifyInstance {
    mapper: Mapper
  }
}

/**
 * Mapping trails ingest by MAP_DELAY_MS: a step follows a commit after that delay (at once while
 * the previous step was full), mapping up to MAP_STEP deliveries in one transaction. During a burst
 * that keeps pace with ingest in small transactions between commits (a few milliseconds each);
 * waiting a little lets one transaction map what several commits stored.
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
    if (!closed) scheduled ??= setTimeout(mapStep, delayMs)
  }
  function mapStep (): void {
    scheduled = undefined
    try {
      if (mapper.step(MAP_STEP) === MAP_STEP) mapSoon(0)
    } catch (err) {
      app.log.error({ err }, 'background mapping failed; it is retried after the next delivery and before the next poll')
    }
  }
  store.ingest.onCommit(() => mapSoon())

  function purge (): void {
    try {
      const purged = store.retention.purge(opts.retentionDays, Date.now())
      for (const [kind, n] of Object.entries(purged)) metrics.retentionRemoved.inc({ kind }, n)
      if (Object.values(purged).some((n) => n > 0)) app.log.info({ ...purged, retentionDays: opts.retentionDays }, 'retention purge')
    } catch (err) {
      app.log.error({ err }, 'retention purge failed; it runs again in an hour')
    }
  }
  const purgeTimer = setInterval(purge, PURGE_EVERY_MS).unref()

  app.addHook('onReady', async () => {
    mapSoon(0) // deliveries a previous run left unmapped
    purge()
  })
  // Before the store closes its database.
  app.addHook('onClose', async () => {
    closed = true // the store's last commits are mapped by the next start
    clearTimeout(scheduled)
    clearInterval(purgeTimer)
  })
}, { name: 'background', dependencies: ['store', 'metrics'] })
