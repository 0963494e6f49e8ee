/** The SQLite store as a Fastify decorator: the database, the inbox, the ingest path, mapper and feeds. */
import fp from 'fastify-plugin'
import type { ContactExtras } from '../mapping/contact.js'
import type { Mapping } from '../mapping/mapping-file.js'
import { openDatabase, type Database } from './database.js'
import { createFeeds, type Feeds } from './feeds.js'
import { GroupCommit } from './group-commit.js'
import { createInbox, type Delivery, type Inbox, type Outcome } from './inbox.js'
import { createMapper, type Mapper } from './mapper.js'

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
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

/** Background mapping waits this long after a commit, so bursts are mapped in large batches. */
const MAP_DELAY_MS = 200
/** Deliveries mapped per step; the event loop is free between steps. */
const MAP_STEP = 200

export default fp<StoreOptions>(async (app, opts) => {
  const db = openDatabase(opts.databasePath)
  const inbox = createInbox(db)
  const mapper = createMapper(db, {
    mapping: opts.mapping,
    timeZone: opts.timeZone,
    extras: opts.extras,
    onFailure: (reason) => app.metrics.mappingFailures.inc({ reason })
  })
  const feeds = createFeeds(db)

  // Mapping runs behind ingest, in steps; feeds also catch up before they serve.
  let timer: NodeJS.Timeout | undefined
  function mapSoon (): void {
    timer ??= setTimeout(mapStep, MAP_DELAY_MS)
  }
  function mapStep (): void {
    timer = undefined
    try {
      if (mapper.step(MAP_STEP) === MAP_STEP) timer = setTimeout(mapStep, 0)
    } catch (err) {
      app.log.error({ err }, 'background mapping failed; it is retried before the next poll')
    }
  }

  const ingest = new GroupCommit(db, (d: Delivery) => inbox.record(d).outcome, {
    onCommit: (size, seconds) => {
      app.metrics.commitSize.observe(size)
      app.metrics.commitDuration.observe(seconds)
      mapSoon()
    }
  })
  app.decorate('store', { db, inbox, ingest, mapper, feeds })
  app.addHook('onReady', async () => { mapSoon() }) // deliveries left unmapped by a previous run

  // Runs after the server has stopped accepting and in-flight requests have finished.
  app.addHook('onClose', async () => {
    clearTimeout(timer)
    ingest.close()
    db.close()
  })
}, { name: 'store', dependencies: ['metrics'] })
