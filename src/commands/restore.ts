/**
 * `restore <backup file>`: puts a backup in place of the database while the service is stopped,
 * checked first, with no stale `-wal`/`-shm` beside it, and says what the restore undid.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { DATABASE_SUFFIXES, databaseFileAt } from '../store/database-files.js'
import { loadMigrations, migrate, schemaVersion } from '../store/migrate.js'
import { lockFilePath, tryServiceLock } from '../store/service-lock.js'
import { Database, sqliteCode } from '../store/sqlite.js'
import { UsageError, options, type Command } from './command.js'

/** What the backup holds, as far as what follows the restore depends on it. */
interface Contents {
  deliveries: number
  /** When the newest delivery in it was received (epoch ms): about when the backup was taken. */
  newestDelivery: number | null
  /** When the last batch it records as served was written out (in push delivery: handed to the pusher). */
  newestServed: number | null
  /** Push delivery: records it holds as still to push, and as parked (0 in a backup from before push existed). */
  pushPending: number
  pushParked: number
}

const iso = (ms: number) => new Date(ms).toISOString()

/** A file's contents and its entry in its folder are on disk before anything relies on them. */
function syncToDisk (path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** The tables the bridge's schema has at `version`, from its own migrations. */
function tablesAt (version: number): string[] {
  const db = new Database(':memory:')
  try {
    migrate(db, loadMigrations().filter((m) => m.version <= version))
    return tableNames(db)
  } finally {
    db.close()
  }
}

const tableNames = (db: Database) =>
  db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]

/**
 * Checks the copy: sound pages (`quick_check`), and the schema of this bridge at a version this
 * build knows. Throws a one-line reason; returns what it holds.
 */
function check (copy: Database, source: string): Contents {
  const result = copy.pragma('quick_check', { simple: true })
  if (result !== 'ok') throw new Error(`${source} is damaged (${String(result).split('\n').join('; ')}): restore an older backup`)
  const version = schemaVersion(copy)
  const latest = loadMigrations().at(-1)?.version ?? 0
  if (version < 1) throw new Error(`${source} is not a database of this bridge (it has no schema version)`)
  if (version > latest) throw new Error(`${source} was written by a newer version of the bridge (schema ${version}, this one knows ${latest}): restore it with that version`)
  const present = new Set(tableNames(copy))
  const missing = tablesAt(version).filter((t) => !present.has(t))
  if (missing.length > 0) throw new Error(`${source} is not a database of this bridge: it lacks the tables ${missing.join(', ')}`)
  const push = present.has('push_items')
    ? "(SELECT count(*) FROM push_items WHERE state = 'pending') AS pushPending, (SELECT count(*) FROM push_items WHERE state = 'parked') AS pushParked"
    : '0 AS pushPending, 0 AS pushParked'
  return copy.prepare(`SELECT (SELECT count(*) FROM deliveries) AS deliveries, (SELECT max(received_at) FROM deliveries) AS newestDelivery,
    (SELECT max(finished_at) FROM feed_batches WHERE outcome = 'served') AS newestServed, ${push}`).get() as Contents
}

/** Pull delivery: the backup's cursors serve again what Rubeus polled after it. */
function servedAgain ({ newestServed }: Contents): string {
  const served = newestServed === null ? 'the backup was taken (it records no batch served)' : `${iso(newestServed)} (the last batch served in the backup)`
  return `  - records served to Rubeus after ${served} will be served again: contacts are updated in place in Rubeus, ` +
    'and events appear a second time in its timeline\n'
}

/**
 * Push delivery: what Rubeus got after the backup is pushed again, as edits. The backup's cursors
 * hand the later records to the pusher again and its queue holds what was still to push; an event's
 * codigo edits the same event, a contact is looked up by its codigo before any creation.
 */
function pushedAgain ({ newestServed, pushPending, pushParked }: Contents): string {
  const handed = newestServed === null ? 'every record (it records no batch handed over)' : `those handed to the pusher after ${iso(newestServed)} (the last batch handed over in the backup)`
  return `  - records pushed to Rubeus after the backup was taken will be pushed again (RUBEUS_DELIVERY=push): ${handed} ` +
    `and the ${pushPending} still to push in it. They arrive as edits: events by their codigo, contacts looked up by theirs ` +
    'and updated; none is created twice\n' +
    (pushParked === 0 ? '' : `  - ${pushParked} record(s) parked in the backup stay parked: \`gupy-rubeus-bridge retry-parked\` once the cause is fixed\n`)
}

export const restore: Command = {
  summary: 'put a backup in place of the database (the service stopped), checked, and say what it undoes',
  usage: 'gupy-rubeus-bridge restore <backup file>\n\n' +
    'Stop the service first: restore refuses while a service holds the database. The backup is\n' +
    'copied beside the database, checked (integrity and schema), then put at DATABASE_PATH; the\n' +
    'database it replaces is kept beside it, with its -wal, under a .replaced-<time> name.',
  async run ({ config, args, out }) {
    const { positionals } = options(args, {})
    const [source, ...extra] = positionals
    if (source === undefined || extra.length > 0) throw new UsageError('give exactly one backup file')
    const target = config.DATABASE_PATH
    const clash = databaseFileAt(target, source)
    if (clash !== undefined) throw new UsageError(`${source} is ${clash.what} (${clash.file}), not a backup of it`)
    if (!existsSync(source)) throw new Error(`no file at ${source}`)

    // Held until the end: a service started meanwhile waits instead of opening a half-replaced file.
    const lock = tryServiceLock(target)
    if (lock === undefined) {
      throw new Error(`a service is running on ${target} (it holds ${lockFilePath(target)}): stop it, then run restore again`)
    }
    const partial = `${target}.restoring`
    const removePartial = () => { for (const suffix of DATABASE_SUFFIXES) rmSync(partial + suffix, { force: true }) }
    try {
      removePartial() // what a killed run may have left
      out(`checking ${source}…\n`)
      // SQLite's backup, not a file copy: a source with a -wal beside it is read whole.
      const from = new Database(source, { readonly: true, fileMustExist: true })
      try {
        await from.backup(partial)
      } catch (err) {
        throw sqliteCode(err) === 'SQLITE_NOTADB' ? new Error(`${source} is not a SQLite database`) : err
      } finally {
        from.close()
      }
      const copy = new Database(partial, { fileMustExist: true })
      let contents: Contents
      try {
        copy.pragma('journal_mode = DELETE') // one self-contained file; the service turns WAL on when it starts
        contents = check(copy, source)
      } catch (err) {
        throw sqliteCode(err) === 'SQLITE_CORRUPT' ? new Error(`${source} is damaged (${(err as Error).message}): restore an older backup`) : err
      } finally {
        copy.close()
      }
      syncToDisk(partial)

      // The replaced database goes aside with its -wal (its newest commits may be there); -shm is only an index of the -wal.
      const aside = `${target}.replaced-${new Date().toISOString().replaceAll(':', '-')}`
      const replaced = existsSync(target)
      const withWal = existsSync(`${target}-wal`)
      for (const suffix of DATABASE_SUFFIXES) {
        if (!existsSync(target + suffix)) continue
        if (suffix === '-shm') rmSync(target + suffix)
        else renameSync(target + suffix, aside + suffix)
      }
      renameSync(partial, target)
      syncToDisk(dirname(target))

      const received = contents.newestDelivery === null ? 'the backup was taken' : iso(contents.newestDelivery)
      out(`restored ${target} from ${source}: ${contents.deliveries} deliveries, integrity ok; ` +
        `the newest delivery in it was received ${contents.newestDelivery === null ? '(none)' : iso(contents.newestDelivery)}\n`)
      if (replaced) out(`the database it replaced is kept as ${aside}${withWal ? ' (with its -wal)' : ''}: delete it once the service runs well\n`)
      out('what follows:\n' +
        `  - deliveries acknowledged to Gupy after ${received} are gone, unless Gupy sends them again; a retry of one of them is then ` +
        'stored as a new delivery. With GUPY_API_TOKEN, `gupy-rubeus-bridge import` brings back those candidates\' contacts from Gupy\'s API\n' +
        (config.RUBEUS_DELIVERY === 'push' ? pushedAgain(contents) : servedAgain(contents)) +
        '  - start the service\n')
      return 0
    } finally {
      removePartial()
      lock.release()
    }
  }
}
