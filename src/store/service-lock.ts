/**
 * One service per database file. The service holds a write transaction open on a small lock file
 * beside the database for as long as it runs; the operating system drops it when the process ends,
 * however it ends. A second service waits for it; operator commands never touch it, except `restore`,
 * which must find no service running and keeps one from starting while it replaces the file.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Database } from './sqlite.js'

export interface ServiceLock {
  file: string
  release: () => void
}

export interface LockOptions {
  /** Called once when the lock is held by another service, then every `remindEveryMs` while waiting. */
  onWait?: (file: string, waitedMs: number) => void
  pollMs?: number
  remindEveryMs?: number
}

export const lockFilePath = (databasePath: string): string => `${databasePath}.lock`

const isBusy = (err: unknown) => (err as { code?: string }).code === 'SQLITE_BUSY'

function openLockFile (file: string): Database {
  mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma('busy_timeout = 0')
  return db
}

/** Takes the lock now, or returns undefined if another process holds it. */
function take (db: Database, file: string): ServiceLock | undefined {
  try {
    db.exec('BEGIN IMMEDIATE') // a RESERVED lock on the file: one holder at a time
  } catch (err) {
    if (isBusy(err)) return undefined
    db.close()
    throw err
  }
  return {
    file,
    release () {
      if (db.inTransaction) db.exec('ROLLBACK')
      db.close()
    }
  }
}

/**
 * The lock, if no service holds it; undefined (at once, without disturbing the holder) if one does.
 * While held, a service that starts waits for it.
 */
export function tryServiceLock (databasePath: string): ServiceLock | undefined {
  const file = lockFilePath(databasePath)
  const db = openLockFile(file)
  const lock = take(db, file)
  if (lock === undefined) db.close()
  return lock
}

/** Resolves once this process holds the database's service lock (at once, if nobody else does). */
export async function acquireServiceLock (databasePath: string, opts: LockOptions = {}): Promise<ServiceLock> {
  const file = lockFilePath(databasePath)
  const db = openLockFile(file)
  const started = Date.now()
  let remindAt = 0
  for (;;) {
    const lock = take(db, file)
    if (lock !== undefined) return lock
    const waited = Date.now() - started
    if (waited >= remindAt) {
      opts.onWait?.(file, waited)
      remindAt = waited + (opts.remindEveryMs ?? 60_000)
    }
    await sleep(opts.pollMs ?? 500)
  }
}
