/**
 * The SQLite binding. better-sqlite3 12 (the last line that supports Node 20) can abort Node 24
 * when the garbage collector frees a prepared statement (`RemoveEnvironmentCleanupHook`
 * assertion); 13, built on Node-API, fixes that but needs Node 22. npm installs 13 as an optional
 * dependency where the engine allows it; this picks it there and falls back to 12 elsewhere.
 */
import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'

const require = createRequire(import.meta.url)

function load (): typeof BetterSqlite3 {
  if (Number(process.versions.node.split('.')[0]) >= 22) {
    try {
      return require('better-sqlite3-napi') as typeof BetterSqlite3
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err
    }
  }
  return require('better-sqlite3') as typeof BetterSqlite3
}

export const Database = load()
// eslint-disable-next-line @typescript-eslint/no-redeclare -- the class and its instance type share a name, as in better-sqlite3
export type Database = BetterSqlite3.Database
export type Statement<P extends unknown[] | {} = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>

/** SQLite's result code of an error (`SQLITE_BUSY`, `SQLITE_FULL`, `SQLITE_IOERR_WRITE`…), if it is one. */
export function sqliteCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined
}

/** Another connection holds the lock: trying again later may work. */
export const isBusy = (err: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(sqliteCode(err) ?? '')

/**
 * The storage failed, not the data: locked, full, read-only, an I/O error. Such an error belongs to
 * the whole transaction, never to one of its items.
 */
export const isStorageError = (err: unknown): boolean =>
  /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL|CORRUPT|NOTADB|NOLFS)/.test(sqliteCode(err) ?? '')

/**
 * The file itself is damaged (or is no database at all): nothing read from it can be trusted, and
 * writing into it may spread the damage. Unlike a full disk, it does not heal by itself.
 */
export const isDamage = (err: unknown): boolean => /^SQLITE_(CORRUPT|NOTADB)/.test(sqliteCode(err) ?? '')
