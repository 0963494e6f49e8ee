#!/usr/bin/env node
/** `gupy-rubeus-bridge <command>`: operator commands over the same database as the service. */
import { parseArgs } from 'node:util'
import { config as loadDotenv } from 'dotenv'
import { ConfigError, loadConfig, type Config } from './config.js'
import { openDatabase } from './store/database.js'
import { createInbox } from './store/inbox.js'

interface Command {
  summary: string
  usage: string
  run: (config: Config, args: string[]) => number
}

const commands: Record<string, Command> = {
  status: {
    summary: 'deliveries stored, by state, and when the last one arrived',
    usage: 'gupy-rubeus-bridge status [--json]',
    run (config, args) {
      const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } })
      const db = openDatabase(config.DATABASE_PATH, { readonly: true })
      try {
        const counts = createInbox(db).counts()
        const last = counts.lastReceivedAt === undefined ? undefined : new Date(counts.lastReceivedAt)
        if (values.json) {
          process.stdout.write(JSON.stringify({ deliveries: counts.byState, lastReceivedAt: last?.toISOString() ?? null }) + '\n')
          return 0
        }
        const total = Object.values(counts.byState).reduce((a, b) => a + b, 0)
        process.stdout.write(`database: ${config.DATABASE_PATH}\ndeliveries: ${total}\n`)
        for (const [state, n] of Object.entries(counts.byState)) process.stdout.write(`  ${state.padEnd(9)} ${n}\n`)
        process.stdout.write(`last delivery received: ${last === undefined ? 'never' : `${last.toISOString()} (${ago(last)} ago)`}\n`)
        return 0
      } finally {
        db.close()
      }
    }
  }
}

function ago (when: Date): string {
  const s = Math.max(0, Math.round((Date.now() - when.getTime()) / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  if (s < 172800) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86400)} days`
}

function help (): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  return `usage: gupy-rubeus-bridge <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    'Configuration comes from the environment (and .env), as for the service.\n' +
    'Run `gupy-rubeus-bridge <command> --help` for a command\'s options.\n'
}

function main (argv: string[]): number {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help())
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
  if (command === undefined) {
    process.stderr.write(`unknown command "${name}"\n\n${help()}`)
    return 2
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n`)
    return 0
  }
  loadDotenv({ quiet: true })
  try {
    return command.run(loadConfig(process.env), args)
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`)
    else process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  }
}

process.exitCode = main(process.argv.slice(2))
