/** The SQLite store as a Fastify decorator: the service lock, the database, its repositories and the ingest path. */
import fp from 'fastify-plugin'
import type { Outcome } from '../gupy/events.js'
import { openDatabase } from './database.js'
import { GroupCommit } from './group-commit.js'
import type { Delivery } from './inbox.js'
import { createRepositories, type Repositories } from './repositories.js'
import { acquireServiceLock } from './service-lock.js'

export interface Store extends Repositories {
  /** Stores a delivery durably (group commit); resolves once its transaction has committed. */
  ingest: GroupCommit<Delivery, Outcome>
}

export interface StoreOptions {
  databasePath: string
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export default fp<StoreOptions>(async (app, opts) => {
  // Feeds are cut under this process's own lock: a second service on the file would hand out the
  // same records. It waits here until the first one has stopped (a rolling restart just works).
  const lock = await acquireServiceLock(opts.databasePath, {
    onWait: (file, waitedMs) => app.log.warn({ lockFile: file, waitedSeconds: Math.round(waitedMs / 1000) },
      'another service is running on this database; waiting for it to stop')
  })
  let repositories: Repositories
  try {
    repositories = createRepositories(openDatabase(opts.databasePath))
  } catch (err) {
    lock.release()
    throw err
  }
  const { db, inbox, feeds } = repositories
  feeds.recoverInterrupted() // a batch a previous run cut but never wrote out is served again

  const ingest = new GroupCommit(db, (d: Delivery) => inbox.record(d))
  ingest.onCommit((size, seconds) => {
    app.metrics.commitSize.observe(size)
    app.metrics.commitDuration.observe(seconds)
  })
  app.decorate('store', { ...repositories, ingest })

  // Runs after the server has stopped accepting and in-flight requests have finished.
  app.addHook('onClose', async () => {
    ingest.close()
    db.close()
    lock.release()
  })
}, { name: 'store', dependencies: ['metrics'] })
