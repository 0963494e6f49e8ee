/** The SQLite store as a Fastify decorator: the database, the inbox, the ingest path, mapper and feeds. */
import fp from 'fastify-plugin'
import type { ContactExtras } from '../mapping/contact.js'
import type { Mapping } from '../mapping/mapping-file.js'
import { openDatabase, type Database } from './database.js'
import { createFeeds, type Feeds } from './feeds.js'
import { GroupCommit } from './group-commit.js'
import { createInbox, type Delivery, type Inbox, type Outcome } from './inbox.js'
import { createMapper, type Mapper } from './mapper.js'
import { createRetention } from './retention.js'

export interface Store {
  db: Database
  inbox: Inbox
  /** Stores a delivery durably (group commit); resolves once its transaction has committed. */
  ingest: GroupCommit<Delivery, Outcome>
  mapper: Mapper
  feeds: Feeds
}

export interface StoreOptions {
  databasePath: string
  mapping: Mapping
  timeZone: string
  extras: ContactExtras
  retentionDays: number
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

/**
 * Mapping runs behind ingest: in large steps once no delivery has been committed for IDLE_MS, and
 * meanwhile in one small step per BUSY_INTERVAL_MS, so a burst of webhooks is acknowledged at full
 * speed. Feeds catch up completely before they serve. Delivery ids are merged into their index
 * (see inbox.ts) ID_CHUNK per transaction: once idle, and during a burst one chunk after a commit
 * whenever a merge is due, which bounds the ids held in memory to about two merges (a few MB).
 */
const IDLE_MS = 100
const BUSY_INTERVAL_MS = 1000
const IDLE_STEP = 500
const BUSY_STEP = 50
const ID_CHUNK = 1000
/** Retention runs at start-up and then hourly. */
const PURGE_EVERY_MS = 3_600_000

export default fp<StoreOptions>(async (app, opts) => {
  const db = openDatabase(opts.databasePath)
  const inbox = createInbox(db)
  inbox.catchUp() // ids a previous run stored but did not write: this process must know them all
  const mapper = createMapper(db, {
    inbox,
    mapping: opts.mapping,
    timeZone: opts.timeZone,
    extras: opts.extras,
    onFailure: (reason) => app.metrics.mappingFailures.inc({ reason })
  })
  const feeds = createFeeds(db)
  feeds.recoverInterrupted()

  let timer: NodeJS.Timeout | undefined
  let lastCommitAt = 0
  function mapSoon (): void {
    lastCommitAt = Date.now()
    timer ??= setTimeout(mapStep, IDLE_MS)
  }
  let lastBusyStep = 0
  function mapStep (): void {
    timer = undefined
    const now = Date.now()
    try {
      if (now - lastCommitAt >= IDLE_MS) {
        if (inbox.index(ID_CHUNK) + mapper.step(IDLE_STEP) > 0) timer = setTimeout(mapStep, 0)
        return
      }
      if (now - lastBusyStep >= BUSY_INTERVAL_MS) {
        lastBusyStep = now
        mapper.step(BUSY_STEP)
      }
      timer = setTimeout(mapStep, IDLE_MS) // until the burst is over
    } catch (err) {
      app.log.error({ err }, 'background mapping failed; it is retried before the next poll')
    }
  }

  let merging = false
  function mergeIdsSoon (): void {
    if (merging || !inbox.mergeDue()) return
    merging = true
    setImmediate(() => {
      merging = false
      try {
        inbox.index(ID_CHUNK)
      } catch (err) {
        app.log.error({ err }, 'writing delivery ids failed; retried after the next commit')
      }
    })
  }

  const ingest = new GroupCommit(db, (d: Delivery) => inbox.record(d), {
    onCommit: (size, seconds) => {
      app.metrics.commitSize.observe(size)
      app.metrics.commitDuration.observe(seconds)
      mapSoon()
      mergeIdsSoon()
    }
  })
  app.decorate('store', { db, inbox, ingest, mapper, feeds })
  app.addHook('onReady', async () => { mapSoon() }) // deliveries left unmapped by a previous run

  const retention = createRetention(db)
  function purge (): void {
    try {
      const purged = retention.purge(opts.retentionDays, Date.now())
      for (const [kind, n] of Object.entries(purged)) app.metrics.retentionRemoved.inc({ kind }, n)
      if (Object.values(purged).some((n) => n > 0)) app.log.info({ ...purged, retentionDays: opts.retentionDays }, 'retention purge')
    } catch (err) {
      app.log.error({ err }, 'retention purge failed; it runs again in an hour')
    }
  }
  const purgeTimer = setInterval(purge, PURGE_EVERY_MS).unref()
  app.addHook('onReady', async () => { purge() })

  // Runs after the server has stopped accepting and in-flight requests have finished.
  app.addHook('onClose', async () => {
    clearTimeout(timer)
    clearInterval(purgeTimer)
    ingest.close()
    db.close()
  })
}, { name: 'store', dependencies: ['metrics'] })
