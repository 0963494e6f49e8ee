/** Test helpers: configuration, a temporary database, an app on it, fixtures, and a log sink. */
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import { buildApp, type App } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { createLogger } from '../src/logger.js'
import { withCpfCheckDigits } from '../src/vocabulary/formats.js'

export const SECRET = 'test-secret-0123456789abcdef'
export const OTHER_SECRET = 'rotated-secret-abcdef0123456789'
export const FEED_TOKEN = 'feed-token-0123456789abcdef'
export const CONSOLE_PASSWORD = 'console-password-0123456789'

/** Fake or redacted bodies from both platforms, kept in the repository (see test/fixtures/README.md). */
export const FIXTURES = new URL('./fixtures/', import.meta.url)

export function fixture (name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
}

/** A fresh directory removed after the test. */
export function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function testConfig (dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_PATH: join(dir, 'bridge.sqlite'),
    GUPY_WEBHOOK_SECRETS: `${SECRET},${OTHER_SECRET}`,
    RUBEUS_FEED_TOKENS: FEED_TOKEN,
    CONSOLE_PASSWORD,
    LOG_LEVEL: 'silent',
    FEED_SETTLE_SECONDS: '0',
    ...env
  })
}

/** Collects every log line written through it, parsed. */
export function logSink () {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter((l: string) => l !== ''))
      cb()
    }
  })
  return { stream, lines, text: () => lines.join('\n') }
}

export interface TestApp {
  app: App
  dir: string
  config: Config
}

/** An app on a real SQLite file in a temporary directory, closed after the test. */
export async function buildTestApp (t: TestContext, env: Record<string, string> = {}, logStream?: Writable): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-test-'))
  const config = testConfig(dir, env)
  const logger = logStream === undefined ? undefined : createLogger('info', logStream)
  const app = await buildApp({ config, logger })
  // Close first, then remove the files: one hook, so the order cannot vary between Node versions.
  t.after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await app.ready()
  return { app, dir, config }
}

let counter = 0

/** A realistic delivery body: the reconstructed fixture with a fresh id and the given fields. */
export function delivery (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = JSON.parse(fixture('gupy/application.created.reconstructed.json'))
  counter++
  return { ...base, id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`, ...overrides }
}

export function postDelivery (app: App, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/webhooks/gupy',
    headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

/** A valid CPF built from a number: nine digits, then the two check digits. */
export function validCpf (n: number): string {
  return withCpfCheckDigits(String(n).padStart(9, '0'))
}

export interface Person { n: number, cpf: string, email: string, first: string, last: string }

export function person (n: number): Person {
  return { n, cpf: validCpf(100_000 + n), email: `pessoa${n}@example.com`, first: `Pessoa${n}`, last: 'Teste' }
}

/** A Gupy application event for a person, at a date, into a step. */
export function applicationEvent (p: Person, opts: {
  id: string,
  event?: 'application.created' | 'application.moved',
  date: Date,
  step: string,
  previous?: string,
  application?: number,
  candidate?: Record<string, unknown>
}): Record<string, unknown> {
  const body = JSON.parse(fixture('gupy/application.moved.reconstructed.json'))
  body.id = opts.id
  body.event = opts.event ?? 'application.moved'
  body.date = opts.date.toISOString()
  body.data.application.id = opts.application ?? 1_000_000 + p.n
  body.data.application.currentStep = { id: 1, name: opts.step, type: 'online' }
  if (opts.previous === undefined) delete body.data.application.previousStep
  else body.data.application.previousStep = { id: 0, name: opts.previous, type: 'online' }
  body.data.candidate = {
    ...body.data.candidate,
    name: p.first,
    lastName: p.last,
    email: p.email,
    identificationDocument: p.cpf,
    mobileNumber: `+55119${String(p.n).padStart(8, '0')}`,
    ...opts.candidate
  }
  return body
}

/** One poll of a feed, as Rubeus makes it. */
export function poll (app: App, feed: string, query = '', token = FEED_TOKEN) {
  const path = feed === 'contatos' ? '/rubeus/contatos' : `/rubeus/eventos/${feed}`
  return app.inject({ method: 'GET', url: path + query, headers: { authorization: `Bearer ${token}` } })
}

export { cli, freePort, spawnBridge, startService } from './processes.js'

/** Overwrites the middle 60% of a file with a byte no SQLite page starts with, as a failing disk might. */
export function damageOnDisk (file: string): void {
  const size = statSync(file).size
  const fd = openSync(file, 'r+')
  try {
    writeSync(fd, Buffer.alloc(Math.floor(size * 0.6), 0xA5), 0, undefined, Math.floor(size * 0.2))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
