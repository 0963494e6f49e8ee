/** The SQLite store as a Fastify decorator: the database, the inbox, and the durable ingest path. */
import fp from 'fastify-plugin'
import { openDatabase, type Database } from './database.js'
import { GroupCommit } from './group-commit.js'
import { createInbox, type Delivery, type Inbox, type Outcome } from './inbox.js'

export interface Store {
  db: Database
  inbox: Inbox
  /** Stores a delivery durably (group commit); resolves once its transaction has committed. */
  ingest: GroupCommit<Delivery, Outcome>
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export default fp<{ databasePath: string }>(async (app, opts) => {
  const db = openDatabase(opts.databasePath)
  const inbox = createInbox(db)
  const ingest = new GroupCommit(db, (d: Delivery) => inbox.record(d).outcome, {
    onCommit: (size, seconds) => {
      app.metrics.commitSize.observe(size)
      app.metrics.commitDuration.observe(seconds)
    }
  })
  app.decorate('store', { db, inbox, ingest })

  // Runs after the server has stopped accepting and in-flight requests have finished.
  app.addHook('onClose', async () => {
    ingest.close()
    db.close()
  })
}, { name: 'store', dependencies: ['metrics'] })
