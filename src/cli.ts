#!/usr/bin/env node
/** `gupy-rubeus-bridge <command>`: operator commands over the same database and configuration as the service. */
import { config as loadDotenv } from 'dotenv'
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { alertTest } from './commands/alert-test.js'
import { backup } from './commands/backup.js'
import { UsageError, type Command } from './commands/command.js'
import { importCommand } from './commands/import.js'
import { erase, purge } from './commands/lgpd.js'
import { reconcile } from './commands/reconcile.js'
import { reprocess, rewind } from './commands/recovery.js'
import { restore } from './commands/restore.js'
import { checkRubeus, retryParked, setupRubeus } from './commands/rubeus.js'
import { simulate } from './commands/simulate.js'
import { status } from './commands/status.js'
import { checkWebhooks, registerWebhooks } from './commands/webhooks.js'
import { ensureSecrets } from './secrets-file.js'
import { isDamage, sqliteCode } from './store/sqlite.js'

const commands: Record<string, Command> = {
  status,
  'register-webhooks': registerWebhooks,
  'check-webhooks': checkWebhooks,
  'check-rubeus': checkRubeus,
  'setup-rubeus': setupRubeus,
  'retry-parked': retryParked,
  reconcile,
  import: importCommand,
  rewind,
  reprocess,
  purge,
  erase,
  backup,
  restore,
  simulate,
  'alert-test': alertTest
}

// `status | head -4`: once the reader has gone, there is nobody left to tell; exit quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e
    process.exit(process.exitCode ?? 0)
  })
}

const out = (text: string) => { process.stdout.write(text) }
const err = (text: string) => { process.stderr.write(text) }

function help (): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(18)} ${c.summary}`)
  return `usage: gupy-rubeus-bridge <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    'Configuration comes from the environment (and .env), as for the service.\n' +
    'Run `gupy-rubeus-bridge <command> --help` for a command\'s options.\n'
}

/** Exit codes: 0 done, 1 failed (or a check found a problem), 2 wrong usage. */
async function main (argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(help())
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
  if (command === undefined) {
    err(`unknown command "${name}"\n\n${help()}`)
    return 2
  }
  if (args.includes('--help') || args.includes('-h')) {
    out(`usage: ${command.usage}\n\n${command.summary}\n`)
    return 0
  }
  loadDotenv({ quiet: true })
  let database = 'at DATABASE_PATH'
  try {
    // Generated secrets live beside the database: commands read them as the service does.
    const config = ensureSecrets(loadConfig(process.env), { create: false }).config
    database = config.DATABASE_PATH
    return await command.run({ config, args, out, err })
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${name}: ${e.message}\n\nusage: ${command.usage}\n`)
      return 2
    }
    if (isDamage(e)) {
      err(`${name}: the database file ${database} is damaged (${sqliteCode(e) ?? 'SQLITE_CORRUPT'}): ` +
        'stop the service and restore a backup (gupy-rubeus-bridge restore <backup file>; README, "Disaster recovery")\n')
      return 1
    }
    err(e instanceof ConfigError ? `${e.message}\n` : `${name}: ${e instanceof Error ? e.message : String(e)}\n`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
