/** `backup <file>`: an online, consistent copy of the database, checked before it is reported done. */
import { closeSync, existsSync, fdatasyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs'
import { databaseFileAt } from '../store/database-files.js'
import { Database } from '../store/sqlite.js'
import { UsageError, options, withDatabase, type Command } from './command.js'

/**
 * Pages copied between two flushes of the copy to disk (8 MiB of 8 KiB pages). The service's
 * commits fsync the database's WAL; on a journaling file system such an fsync also waits for
 * whatever other data is waiting to be written. One flush of a whole copy at the end made the
 * service wait for hundreds of megabytes at once; a flush every step keeps that wait to one step's.
 */
const PAGES_PER_STEP = 1024

export const backup: Command = {
  summary: 'write an online, consistent copy of the database to a file',
  usage: 'gupy-rubeus-bridge backup <file> [--force]\n\n' +
    '  --force   overwrite the file if it exists\n\n' +
    'Safe while the service runs: the copy is the database as it stood when the backup began, and\n' +
    'the service keeps writing meanwhile. The target may not be the database or one of its files.\n' +
    'Restore: stop the service, then `gupy-rubeus-bridge restore <file>`.',
  async run ({ config, args, out }) {
    const { values, positionals } = options(args, { force: { type: 'boolean', default: false } })
    const [target, ...extra] = positionals
    if (target === undefined || extra.length > 0) throw new UsageError('give exactly one target file')
    // Written beside the target and renamed once checked: the target is never a half-written copy.
    const partial = `${target}.partial`
    // Renamed onto the database (or its -wal), a copy would replace the live file under the running
    // service, which would go on writing into the replaced one: --force or not, never.
    for (const path of [target, ...['', '-journal', '-wal', '-shm'].map((suffix) => partial + suffix)]) {
      const clash = databaseFileAt(config.DATABASE_PATH, path)
      if (clash !== undefined) throw new UsageError(`${path === target ? target : `${path} (beside the target)`} is ${clash.what} (${clash.file}): a backup goes to another file`)
    }
    if (existsSync(target) && !values.force) throw new UsageError(`${target} exists; add --force to overwrite it`)
    // And what a run that was killed may have left (a rollback journal SQLite would replay, too).
    const removePartial = () => { for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(partial + suffix, { force: true }) }
    removePartial()
    out(`writing ${target}…\n`)
    try {
      await withDatabase(config, (db) => copyPaced(db, partial, out), true)
      const copy = new Database(partial, { fileMustExist: true })
      let deliveries: number
      try {
        // The copy took the database's WAL mode with its pages: back to one self-contained file.
        copy.pragma('journal_mode = DELETE')
        const check = copy.pragma('quick_check', { simple: true })
        if (check !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check)}`)
        deliveries = copy.prepare('SELECT count(*) FROM deliveries').pluck().get() as number
      } finally {
        copy.close()
      }
      renameSync(partial, target)
      out(`backup written to ${target}: ${deliveries} deliveries, integrity ok (${(statSync(target).size / 1e6).toFixed(1)} MB)\n`)
    } finally {
      removePartial()
    }
    return 0
  }
}

/**
 * SQLite's online backup, a step at a time, inside one read transaction: every step reads the same
 * snapshot (the copy never restarts when the service writes) and the service's writers are not
 * blocked. Each step's pages are flushed to disk before the next step, with progress every 10%.
 */
export async function copyPaced (db: Database, file: string, out: (text: string) => void, pagesPerStep = PAGES_PER_STEP): Promise<void> {
  db.exec('BEGIN')
  let fd: number | undefined
  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').get() // the snapshot starts here
    let reported = 0
    await db.backup(file, {
      progress ({ totalPages, remainingPages }) {
        fd ??= openSync(file, 'r+')
        fdatasyncSync(fd)
        const percent = Math.floor(100 * (totalPages - remainingPages) / totalPages)
        if (percent >= reported + 10) {
          reported = percent - percent % 10
          out(`  ${reported}% (${totalPages - remainingPages} of ${totalPages} pages)\n`)
        }
        return pagesPerStep
      }
    })
  } finally {
    if (fd !== undefined) closeSync(fd)
    db.exec('COMMIT')
  }
}
