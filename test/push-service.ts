/** The service in push mode, in this process, pushing to the Rubeus stand-in: what the push tests share. */
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { buildApp } from '../src/app.js'
import { createLogger } from '../src/logger.js'
import { testConfig } from './helper.js'
import { RUBEUS_ORIGEM, RUBEUS_TOKEN, rubeusStandIn, type StandInOptions } from './rubeus-stand-in.js'

/**
 * The service in push mode on a fresh database (or `dir`'s), pushing to a stand-in, with a short
 * backoff between attempts. `env` carries what a command beside it needs (DATABASE_PATH included).
 */
export async function pushing (t: TestContext, opts: { standIn?: StandInOptions, env?: Record<string, string>, log?: Writable, dir?: string } = {}) {
  const rubeus = await rubeusStandIn(t, opts.standIn)
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'bridge-push-'))
  const env = {
    RUBEUS_DELIVERY: 'push',
    RUBEUS_API_URL: rubeus.url,
    RUBEUS_API_TOKEN: RUBEUS_TOKEN,
    RUBEUS_ORIGEM,
    RUBEUS_API_REQUESTS_PER_MINUTE: '6000',
    RUBEUS_BASE_LEGAL: '3',
    ...opts.env
  }
  const config = testConfig(dir, env)
  const app = await buildApp({ config, logger: opts.log === undefined ? undefined : createLogger('info', opts.log), push: { backoff: { baseMs: 20, maxMs: 200 } } })
  let closed = false
  const close = async () => {
    if (!closed) await app.close()
    closed = true
  }
  // One hook: the service closes before its directory goes.
  t.after(async () => {
    await close()
    if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true })
  })
  await app.ready()
  return { app, rubeus, dir, env: { ...env, DATABASE_PATH: config.DATABASE_PATH }, close }
}

/** Waits (on real time, bounded) until the check holds. */
export async function until (what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
