/**
 * One service per database file. The service holds a write transaction open on a small lock file
 * beside the database for as long as it runs; the operating system drops it when the process ends,
 * however it ends. A second service waits for it; operator commands never touch it.
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

/** Resolves once this process holds the database's service lock (at once, if nobody else does). */
export async function acquireServiceLock (databasePath: string, opts: LockOptions = {}): Promise<ServiceLock> {
  const file = lockFilePath(databasePath)
  mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma('busy_timeout = 0')
  const started = Date.now()
  let remindAt = 0
  for (;;) {
    try {
      db.exec('BEGIN IMMEDIATE') // a RESERVED lock on the file: one holder at a time
      return {
        file,
        release () {
          if (db.inTransaction) db.exec('ROLLBACK')
          db.close()
        }
      }
    } catch (err) {
      if (!isBusy(err)) {
        db.close()
        throw err
      }
    }
    const waited = Date.now() - started
    if (waited >= remindAt) {
      opts.onWait?.(file, waited)
      remindAt = waited + (opts.remindEveryMs ?? 60_000)
    }
    await sleep(opts.pollMs ?? 500)
  }
}
