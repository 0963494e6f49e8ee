/** `purge` and `erase`: retention now, and one person's data removed on request (LGPD). */
import { createEraser } from '../store/erase.js'
import { createRetention } from '../store/retention.js'
import { politePause } from '../store/contention.js'
import { UsageError, options, withDatabase, type Command } from './command.js'

export const purge: Command = {
  summary: 'apply retention now: remove raw bodies and served records older than RETENTION_DAYS',
  usage: 'gupy-rubeus-bridge purge [--days <n>]\n\n' +
    '  --days   retention in days for this run (default RETENTION_DAYS)\n\n' +
    'Delivery ids are kept, so a late duplicate is still recognised. The service also purges hourly.',
  async run ({ config, args, out }) {
    const { values } = options(args, { days: { type: 'string' } })
    const days = values.days === undefined ? config.RETENTION_DAYS : Number(values.days)
    if (!Number.isInteger(days) || days < 0) throw new UsageError('--days must be a whole number of days')
    const purged = await withDatabase(config, async (db) => await createRetention(db).purge(days, Date.now(), () => false, politePause()))
    out(`removed, older than ${days} days: ${purged.payloads} raw bodies, ${purged.records} served records, ` +
      `${purged.batches} batch log entries, ${purged.contacts} contacts\n`)
    return 0
  }
}

export const erase: Command = {
  summary: 'remove one person\'s data everywhere (by CPF or e-mail), keeping only delivery ids',
  usage: 'gupy-rubeus-bridge erase (--cpf <cpf> | --email <e-mail>) [--vacuum]\n\n' +
    '  --vacuum   also rebuild the whole file (a long exclusive step: the service answers 503 meanwhile);\n' +
    '             only needed once for a database written by a version without secure_delete\n\n' +
    'Removes the contact, its records (served or waiting), its bindings and the raw bodies that\n' +
    'mention the person, in short steps beside the running service, then checkpoints the WAL so that\n' +
    'no copy is left in the files. Erase them in Rubeus too: the bridge cannot.',
  async run ({ config, args, out }) {
    const { values } = options(args, { cpf: { type: 'string' }, email: { type: 'string' }, vacuum: { type: 'boolean', default: false } })
    if (values.cpf === undefined && values.email === undefined) throw new UsageError('give --cpf or --email')
    const erased = await withDatabase(config, async (db) => {
      const result = await createEraser(db).erase({ cpf: values.cpf, email: values.email }, out, politePause())
      if (values.vacuum) {
        out('  rebuilding the database file (VACUUM)…\n')
        db.exec('VACUUM')
        db.pragma('wal_checkpoint(TRUNCATE)')
      }
      return result
    })
    out(`erased: ${erased.contacts} contacts, ${erased.records} feed records, ${erased.deliveries} raw bodies\n`)
    return 0
  }
}
