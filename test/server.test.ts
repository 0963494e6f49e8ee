/** The server as a real process: configuration errors, generated secrets, `.env`, and graceful shutdown on signals. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { Database } from '../src/store/sqlite.js'
import { CONSOLE_PASSWORD, FEED_TOKEN, SECRET, delivery, freePort, spawnBridge, startService, tempDir } from './helper.js'
import type { Child, Exit } from './processes.js'

async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Runs `src/server.ts` in `cwd` with only the given service variables (none inherited from the parent). */
const spawnServer = (t: TestContext, cwd: string, env: Record<string, string>): Child => spawnBridge(t, 'server', [], { cwd, env })

/** Waits until the server answers GET /healthz with 200 on the port. */
async function ready (server: Child, port: number): Promise<string> {
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    const { child } = server
    if (child.exitCode !== null || child.signalCode !== null) assert.fail(`the server exited while starting:\n${server.stderr()}${server.stdout()}`)
    if (Date.now() > deadline) assert.fail(`the server did not answer /healthz within 30 s:\n${server.stderr()}`)
    try {
      const res = await request(`${base}/healthz`, { headersTimeout: 2000, bodyTimeout: 2000 })
      await res.body.dump()
      if (res.statusCode === 200) return base
    } catch {} // not listening yet
    await sleep(50)
  }
}

async function startServer (t: TestContext, cwd: string, env: Record<string, string>) {
  const server = await startService(t, env, { cwd })
  return { ...server, base: server.url }
}

/** Sends the signal and waits for the process to end and its output to be read. */
const stop = async (server: Child, signal: NodeJS.Signals): Promise<Exit> => await server.stop(signal)

async function post (base: string, body: string, secret = SECRET, dispatcher?: Agent) {
  const res = await request(`${base}/webhooks/gupy`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000
  })
  const text = await res.body.text()
  let json: { status?: string, id?: string } = {}
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: res.statusCode, outcome: json.status, retryAfter: res.headers['retry-after'] }
}

function logLines (stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** After a clean close, SQLite has checkpointed the WAL into the database and removed it (or left it empty). */
function assertWalCheckpointed (databasePath: string): void {
  const wal = `${databasePath}-wal`
  assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'the WAL is gone or empty after a clean close')
}

function openStored (databasePath: string) {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true })
  const has = db.prepare('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
  return { db, has: (id: string) => has.get(id) !== undefined }
}

describe('server process', () => {
  test('invalid configuration exits non-zero, names every bad variable on its own line and never echoes the secret', async (t) => {
    const dir = tempDir(t)
    const shortSecret = 'sh0rt-S3cr3t'
    const server = spawnServer(t, dir, {
      DATABASE_PATH: join(dir, 'data', 'bridge.sqlite'),
      PORT: 'abc',
      GUPY_WEBHOOK_SECRETS: shortSecret,
      GUPY_ALLOWED_IPS: 'not-an-ip',
      LOG_LEVEL: 'loud'
    })
    const exit = await within(server.exited, 20_000, 'the exit on invalid configuration')
    assert.equal(exit.signal, null)
    assert.notEqual(exit.code, 0)

    const lines = server.stderr().split('\n')
    assert.ok(lines.includes('Invalid configuration:'), server.stderr())
    const problems = lines.filter((line) => line.startsWith('  - '))
    assert.deepEqual(problems.map((line) => /^ {2}- (\w+): \S/.exec(line)?.[1]).sort(),
      ['GUPY_ALLOWED_IPS', 'GUPY_WEBHOOK_SECRETS', 'LOG_LEVEL', 'PORT'], 'one line per problem, naming its variable')
    assert.ok(!server.stderr().includes(shortSecret) && !server.stdout().includes(shortSecret), 'the secret value is not echoed')
    assert.equal(server.stdout(), '', 'nothing is logged: the process stopped before starting anything')
    assert.ok(!existsSync(join(dir, 'data')), 'no database or secrets file is created')
  })

  test('without configured secrets, the first start generates a 0600 secrets file beside the database and later starts reuse it', async (t) => {
    const dir = tempDir(t)
    const databasePath = join(dir, 'data', 'bridge.sqlite')
    const secretsFile = join(dir, 'data', 'bridge-secrets.json')
    const env = { DATABASE_PATH: databasePath, LOG_LEVEL: 'info' }

    const first = await startServer(t, dir, env)
    assert.equal(statSync(secretsFile).mode & 0o777, 0o600)
    const content = readFileSync(secretsFile, 'utf8')
    const stored = JSON.parse(content) as Record<string, string>
    assert.deepEqual(Object.keys(stored).sort(), ['CONSOLE_PASSWORD', 'GUPY_WEBHOOK_SECRETS', 'RUBEUS_FEED_TOKENS'])
    const secret = stored.GUPY_WEBHOOK_SECRETS ?? ''
    const token = stored.RUBEUS_FEED_TOKENS ?? ''
    const password = stored.CONSOLE_PASSWORD ?? ''
    assert.ok(secret.length >= 32 && token.length >= 32 && password.length >= 32 && new Set([secret, token, password]).size === 3)
    assert.deepEqual(await stop(first, 'SIGTERM'), { code: 0, signal: null })

    const firstLog = logLines(first.stdout()).find((l) => l.file !== undefined)
    assert.equal(firstLog?.file, secretsFile, 'the log names the secrets file')
    assert.deepEqual(firstLog?.generated, ['GUPY_WEBHOOK_SECRETS', 'RUBEUS_FEED_TOKENS', 'CONSOLE_PASSWORD'])

    const second = await startServer(t, dir, env)
    assert.equal(readFileSync(secretsFile, 'utf8'), content, 'the second start leaves the file as it was')
    assert.deepEqual(await post(second.base, JSON.stringify(delivery()), secret), { status: 200, outcome: 'accepted', retryAfter: undefined })
    assert.equal((await post(second.base, JSON.stringify(delivery()), token)).status, 401, 'the feed token is not a webhook secret')
    const consoleStatus = (authorization: string) => request(`${second.base}/console/status.json`, { headers: { authorization } })
      .then(async (res) => { await res.body.dump(); return res.statusCode })
    assert.equal(await consoleStatus(`Basic ${Buffer.from(`operator:${password}`).toString('base64')}`), 200, 'the console takes the generated password')
    assert.equal(await consoleStatus(`Basic ${Buffer.from(`operator:${secret}`).toString('base64')}`), 401)
    assert.deepEqual(await stop(second, 'SIGTERM'), { code: 0, signal: null })
    assert.equal(readFileSync(secretsFile, 'utf8'), content)

    const secondLog = logLines(second.stdout()).find((l) => l.file !== undefined)
    assert.equal(secondLog?.file, secretsFile)
    assert.deepEqual(secondLog?.generated, [])

    const output = [first.stdout(), first.stderr(), second.stdout(), second.stderr()].join('\n')
    assert.ok(!output.includes(secret), 'the webhook secret appears nowhere in the output')
    assert.ok(!output.includes(token), 'the feed token appears nowhere in the output')
    assert.ok(!output.includes(password), 'the console password appears nowhere in the output')
  })

  test('SIGINT stops the server with exit code 0 and a cleanly closed database', async (t) => {
    const dir = tempDir(t)
    const databasePath = join(dir, 'bridge.sqlite')
    const server = await startServer(t, dir, {
      DATABASE_PATH: databasePath, GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, LOG_LEVEL: 'info'
    })
    const body = delivery()
    assert.equal((await post(server.base, JSON.stringify(body))).outcome, 'accepted')

    assert.deepEqual(await stop(server, 'SIGINT'), { code: 0, signal: null })
    assert.ok(logLines(server.stdout()).some((l) => l.msg === 'shutting down' && l.signal === 'SIGINT'))
    assertWalCheckpointed(databasePath)
    const { db, has } = openStored(databasePath)
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok')
      assert.ok(has(body.id as string))
    } finally {
      db.close()
    }
  })

  test('a quiet server writes each log line out within about a second, not only once a buffer fills or it exits', async (t) => {
    const dir = tempDir(t)
    const server = await startServer(t, dir, {
      DATABASE_PATH: join(dir, 'bridge.sqlite'), GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, LOG_LEVEL: 'info'
    })
    const body = delivery()
    assert.equal((await post(server.base, JSON.stringify(body))).outcome, 'accepted')
    const logged = () => logLines(server.stdout()).some((l) => l.msg === 'request' && l.path === '/webhooks/gupy' && l.eventId === body.id)
    const deadline = Date.now() + 5000
    while (!logged() && Date.now() < deadline) await sleep(100)
    assert.ok(logged(), `the request line reached stdout while the server kept running:\n${server.stdout()}`)
    assert.equal(server.child.exitCode, null)
    assert.deepEqual(await stop(server, 'SIGTERM'), { code: 0, signal: null })
    assert.ok(logLines(server.stdout()).some((l) => l.msg === 'shutting down'), 'lines buffered at exit are written too')
  })

  test('a .env file in the working directory configures the port, the database and the secrets', async (t) => {
    const dir = tempDir(t)
    const port = await freePort()
    writeFileSync(join(dir, '.env'), [
      '# read by the server from its working directory',
      `PORT=${port}`,
      'HOST=127.0.0.1',
      'DATABASE_PATH=data/from-dotenv.sqlite',
      `GUPY_WEBHOOK_SECRETS=${SECRET}`,
      `RUBEUS_FEED_TOKENS=${FEED_TOKEN}`,
      `CONSOLE_PASSWORD=${CONSOLE_PASSWORD}`,
      'LOG_LEVEL=info',
      ''
    ].join('\n'))
    const server = spawnServer(t, dir, {}) // nothing from the environment: all from .env
    const base = await ready(server, port)

    const body = delivery()
    assert.deepEqual(await post(base, JSON.stringify(body)), { status: 200, outcome: 'accepted', retryAfter: undefined })
    assert.deepEqual(await stop(server, 'SIGTERM'), { code: 0, signal: null })

    assert.ok(logLines(server.stdout()).some((l) => l.msg === `Server listening at http://127.0.0.1:${port}`))
    assert.ok(!existsSync(join(dir, 'data', 'bridge-secrets.json')), 'the secrets came from .env: none generated')
    const { db, has } = openStored(join(dir, 'data', 'from-dotenv.sqlite'))
    try {
      assert.ok(has(body.id as string), 'the delivery is in the database .env names, relative to the working directory')
    } finally {
      db.close()
    }
  })
  test('a second service on the same database waits, says so, and takes over once the first has stopped', async (t) => {
    const dir = tempDir(t)
    const env = { DATABASE_PATH: join(dir, 'bridge.sqlite'), GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, FEED_SETTLE_SECONDS: '0', LOG_LEVEL: 'info' }
    const first = await startServer(t, dir, env)
    const firstBody = delivery()
    assert.equal((await post(first.base, JSON.stringify(firstBody))).outcome, 'accepted')

    const port = await freePort()
    const second = spawnServer(t, dir, { ...env, PORT: String(port), HOST: '127.0.0.1' })
    const waiting = async () => {
      while (!logLines(second.stdout()).some((l) => l.level === 40 && /another service is running on this database; waiting/.test(String(l.msg)))) await sleep(50)
    }
    await within(waiting(), 20_000, 'the second service\'s log line saying it waits')
    const secondBase = `http://127.0.0.1:${port}`
    for (const path of ['/webhooks/gupy', '/rubeus/contatos', '/healthz']) {
      await assert.rejects(request(secondBase + path, { method: path === '/webhooks/gupy' ? 'POST' : 'GET', body: path === '/webhooks/gupy' ? '{}' : undefined }),
        { code: 'ECONNREFUSED' }, `the waiting service does not answer ${path}`)
    }
    const polled = await request(`${first.base}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
    assert.equal((await polled.body.json() as unknown[]).length, 1, 'the first service serves meanwhile')
    assert.equal(second.child.exitCode, null, 'the second one is still waiting')

    assert.deepEqual(await stop(first, 'SIGTERM'), { code: 0, signal: null })
    const base = await ready(second, port)
    assert.deepEqual(await post(base, JSON.stringify(firstBody)), { status: 200, outcome: 'duplicate', retryAfter: undefined })
    const next = delivery()
    ;(next.data as { candidate: { email: string } }).candidate.email = 'another.candidate@example.com'
    assert.equal((await post(base, JSON.stringify(next))).outcome, 'accepted')
    const res = await request(`${base}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
    assert.equal((await res.body.json() as unknown[]).length, 1, 'only the new contact: what the first served is not served again')
    assert.deepEqual(await stop(second, 'SIGTERM'), { code: 0, signal: null })
  })
})
