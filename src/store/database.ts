/** Opens the SQLite file with the pragmas a durable inbox needs, and brings its schema up to date. */
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { Database } from './sqlite.js'
import { migrate } from './migrate.js'

export { Database } from './sqlite.js'

/** The service's synchronous wait for a lock: short enough that no request waits much longer. */
export const SERVICE_BUSY_TIMEOUT_MS = 25

export interface OpenOptions {
  /**
   * How long a statement waits, synchronously, for a lock another connection holds before failing
   * with SQLITE_BUSY. The service keeps it short (its event loop must not stall; group commit tries
   * again later); commands, which hold no event loop anyone waits on, wait longer.
   */
  busyTimeoutMs?: number
  readonly?: boolean
  /** Refuse to create the file (operator commands: a typo must not make an empty database). */
  mustExist?: boolean
  /** Check the file (`PRAGMA quick_check`) before anything is written to it: the service's start-up. */
  check?: boolean
}

/** A database file that failed its check: refused rather than served from or written to. */
export class DamagedDatabaseError extends Error {
  override name = 'DamagedDatabaseError'
  /** As SQLite would say it, so that whoever tells damage apart (`isDamage`) tells this one too. */
  readonly code = 'SQLITE_CORRUPT'
}

/**
 * Reads every page of the file once (about 1 s per GB from the page cache, 10 s per GB from a cold
 * disk) and throws if any is damaged. A file that is no database at all throws SQLITE_NOTADB.
 */
export function checkIntact (db: Database, file: string): void {
  const result = db.pragma('quick_check', { simple: true })
  if (result !== 'ok') throw new DamagedDatabaseError(`${file} is damaged: ${String(result).split('\n').join('; ')}`)
}

export function openDatabase (file: string, options: OpenOptions = {}): Database {
  if ((options.readonly === true || options.mustExist === true) && !existsSync(file)) throw new Error(`no database at ${file}: has the service been started with this DATABASE_PATH?`)
  if (!options.readonly) mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false })
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? SERVICE_BUSY_TIMEOUT_MS}`)
    // Deleted or rewritten content is overwritten with zeros, so that erasing a person leaves no
    // stale copy in free space, whichever connection removed an earlier version of it.
    db.pragma('secure_delete = ON')
    if (options.check === true) checkIntact(db, file)
    if (!options.readonly) {
      // Takes effect only on a new file. A ~2.5 KB delivery fills a 4 KiB page alone; 8 KiB pages
      // hold three, so a commit writes fewer, larger WAL frames (fewer system calls per delivery).
      db.pragma('page_size = 8192')
      db.pragma('journal_mode = WAL')
      // A 200 to Gupy promises the delivery survives a power cut: WAL + NORMAL would not.
      db.pragma('synchronous = FULL')
    }
    db.pragma('foreign_keys = ON')
    if (!options.readonly) migrate(db)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}
