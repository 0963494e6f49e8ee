/** The SQLite store as a Fastify decorator: a read connection, the inbox, and the durable ingest path. */
import fp from 'fastify-plugin'
import { openDatabase, type Database } from './database.js'
import { createInbox, type Inbox } from './inbox.js'
import { Writer } from './writer.js'

export interface Store {
  db: Database
  inbox: Inbox
  /** Stores a delivery durably (writer thread, group commit); resolves once committed. */
  ingest: Writer
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export default fp<{ databasePath: string }>(async (app, opts) => {
  const db = openDatabase(opts.databasePath) // applies migrations before the writer starts
  const inbox = createInbox(db)
  const ingest = new Writer(opts.databasePath, {
    onCommit: (size, seconds) => {
      app.metrics.commitSize.observe(size)
      app.metrics.commitDuration.observe(seconds)
    }
  })
  ingest.start()
  app.decorate('store', { db, inbox, ingest })

  // Runs after the server has stopped accepting and in-flight requests have finished.
  app.addHook('onClose', async () => {
    await ingest.close()
    db.close()
  })
}, { name: 'store', dependencies: ['metrics'] })
