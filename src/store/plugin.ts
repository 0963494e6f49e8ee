/** The SQLite store as a Fastify decorator: the service lock, the database, its repositories and the ingest path. */
import fp from 'fastify-plugin'
import type { Outcome } from '../vocabulary/gupy-events.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { openDatabase, type Database } from './database.js'
import { GroupCommit } from './group-commit.js'
import type { Delivery } from './inbox.js'
import { createRepositories, type Repositories } from './repositories.js'
import { acquireServiceLock, lockFilePath } from './service-lock.js'
import { isBusy, isDamage, isStorageError, sqliteCode } from './sqlite.js'

export interface Store extends Repositories {
  /** Stores a delivery durably (group commit); resolves once its transaction has committed. */
  ingest: GroupCommit<Delivery, Outcome>
  writes: WriteHealth
}

/**
 * Whether the database can be written, as the last write found it: a full disk or an I/O error
 * makes the service not ready until a write succeeds again. A lock held elsewhere does not.
 * Damage to the file (SQLITE_CORRUPT, SQLITE_NOTADB) is different: a later success says nothing
 * about the damaged pages, so it stays until the service stops, and from then on nothing is read
 * from the file nor written to it (see `onDamage`).
 */
export class WriteHealth {
  /** The SQLite code of the failure, while writes fail. */
  failure: string | undefined
  /** The SQLite code of the damage met in the file, once met. */
  damaged: string | undefined
  readonly #onDamage: (err: unknown) => void

  constructor (onDamage: (err: unknown) => void = () => {}) {
    this.#onDamage = onDamage
  }

  report (err?: unknown): void {
    if (this.damaged !== undefined) return
    if (err === undefined) this.failure = undefined
    else if (isDamage(err)) {
      this.damaged = sqliteCode(err)
      this.#onDamage(err)
    } else if (isStorageError(err) && !isBusy(err)) this.failure = sqliteCode(err)
  }
}

export interface StoreOptions {
  databasePath: string
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

/** How long start-up waits for a lock another connection holds (an operator command's transaction). */
export const STARTUP_WAIT_MS = 60_000

/**
 * Checks, opens and migrates the database (a damaged file is refused before anything is written to
 * it), and marks the batches a previous run cut but never wrote out as
 * aborted (they are served again). These writes wait, asynchronously and at most STARTUP_WAIT_MS,
 * for a lock another connection holds; `onWait` is told once.
 */
async function openWhenUnlocked (file: string, onWait: (waitMs: number) => void): Promise<Repositories> {
  const started = Date.now()
  let told = false
  for (;;) {
    let db: Database | undefined
    try {
      db = openDatabase(file, { check: true })
      const repositories = createRepositories(db)
      repositories.feeds.recoverInterrupted()
      return repositories
    } catch (err) {
      db?.close()
      if (!isBusy(err) || Date.now() - started >= STARTUP_WAIT_MS) throw err
      if (!told) onWait(STARTUP_WAIT_MS)
      told = true
      await sleep(250)
    }
  }
}

/** SQLite's errors do not say which file they concern; start-up's one line must (`path`, as Node's own errors do). */
function concerning (file: string, err: unknown): unknown {
  if (err instanceof Error && !('path' in err)) Object.assign(err, { path: file })
  return err
}

export default fp<StoreOptions>(async (app, opts) => {
  // Feeds are cut under this process's own lock: a second service on the file would hand out the
  // same records. It waits here until the first one has stopped (a rolling restart just works).
  const lock = await acquireServiceLock(opts.databasePath, {
    onWait: (file, waitedMs) => app.log.warn({ lockFile: file, waitedSeconds: Math.round(waitedMs / 1000) },
      'another service is running on this database; waiting for it to stop')
  }).catch((err: unknown) => { throw concerning(lockFilePath(opts.databasePath), err) })
  let repositories: Repositories
  try {
    repositories = await openWhenUnlocked(opts.databasePath, (waitMs) => app.log.warn({ waitSeconds: waitMs / 1000 },
      'the database is locked by another connection (an operator command?); start-up waits for it'))
  } catch (err) {
    lock.release()
    throw concerning(opts.databasePath, err)
  }
  const { db, inbox } = repositories

  const ingest = new GroupCommit(db, (d: Delivery) => inbox.record(d))
  const writes = new WriteHealth((err) => {
    // SQLite itself refuses every write from now on; the routes refuse before reading.
    db.pragma('query_only = ON')
    app.log.error({ code: sqliteCode(err), databasePath: opts.databasePath },
      'the database file is damaged: from now on nothing is read from it nor written to it (webhooks and feeds answer 503); ' +
      'stop the service and restore a backup (gupy-rubeus-bridge restore <backup file>; README, "Disaster recovery")')
  })
  ingest.onCommit((size, seconds) => {
    writes.report()
    app.metrics.commitSize.observe(size)
    app.metrics.commitDuration.observe(seconds)
  })
  ingest.onFailure((err) => writes.report(err))
  app.decorate('store', { ...repositories, ingest, writes })

  // Runs after the server has stopped accepting and in-flight requests have finished.
  app.addHook('onClose', async () => {
    ingest.close()
    db.close()
    lock.release()
  })
}, { name: 'store', dependencies: ['metrics'] })
