/** What every operator command is: a summary, its usage and options, and a run that returns an exit code. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { Config } from '../config.js'
import { COMMAND_BUSY_MS } from '../store/contention.js'
import { openDatabase, type Database } from '../store/database.js'

export interface Context {
  config: Config
  args: string[]
  out: (text: string) => void
  err: (text: string) => void
}

export interface Command {
  summary: string
  usage: string
  run: (ctx: Context) => Promise<number>
}

/** A mistake in how the command was called: reported with its usage, exit code 2. */
export class UsageError extends Error {}

/** Parses the command's options strictly; unknown options are usage errors. */
export function options<T extends NonNullable<ParseArgsConfig['options']>> (args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/** Runs `work` on the service's database (which must exist) and closes it. */
export async function withDatabase<R> (config: Config, work: (db: Database) => R | Promise<R>, readonly = false): Promise<R> {
  const db = openDatabase(config.DATABASE_PATH, { readonly, mustExist: true, busyTimeoutMs: COMMAND_BUSY_MS })
  try {
    return await work(db)
  } finally {
    db.close()
  }
}
