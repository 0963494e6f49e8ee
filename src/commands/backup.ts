/** `backup <file>`: an online, consistent copy of the database, checked before it is reported done. */
import { existsSync, rmSync, statSync } from 'node:fs'
import { Database } from '../store/sqlite.js'
import { UsageError, options, withDatabase, type Command } from './command.js'

export const backup: Command = {
  summary: 'write an online, consistent copy of the database to a file',
  usage: 'gupy-rubeus-bridge backup <file> [--force]\n\n' +
    '  --force   overwrite the file if it exists\n\n' +
    'Safe while the service runs: the copy is the database as it stood when the backup began, and\n' +
    'the service keeps writing meanwhile. Restore: stop the service, put the copy at DATABASE_PATH, start.',
  async run ({ config, args, out }) {
    const { values, positionals } = options(args, { force: { type: 'boolean', default: false } })
    const [target, ...extra] = positionals
    if (target === undefined || extra.length > 0) throw new UsageError('give exactly one target file')
    if (existsSync(target) && !values.force) throw new UsageError(`${target} exists; add --force to overwrite it`)
    if (existsSync(target)) rmSync(target)
    out(`writing ${target}…\n`)
    // VACUUM INTO reads one snapshot (a read transaction: writers are not blocked) into a new, compact file.
    await withDatabase(config, (db) => { db.prepare('VACUUM INTO ?').run(target) }, true)
    const copy = new Database(target, { readonly: true, fileMustExist: true })
    try {
      const check = copy.pragma('quick_check', { simple: true })
      if (check !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check)}`)
      const deliveries = copy.prepare('SELECT count(*) FROM deliveries').pluck().get() as number
      out(`backup written to ${target}: ${deliveries} deliveries, integrity ok (${(statSync(target).size / 1e6).toFixed(1)} MB)\n`)
    } finally {
      copy.close()
    }
    return 0
  }
}
