/** register-webhooks / check-webhooks against a local stand-in for Gupy's webhook API. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { openDatabase } from '../../src/store/database.js'
import { SECRET, cli, spawnBridge, tempDir } from '../helper.js'

const TOKEN = 'gupy-api-token-123'
const PUBLIC_URL = 'https://bridge.example.com'

interface Sub { id: string, action: string, status: string, postbackUrl: string, clientHeaders: Record<string, string>, techOwnerName: string, techOwnerEmail: string }

/** Gupy's API as far as the bridge uses it; the list shape and failures are chosen per test. */
async function fakeGupy (t: TestContext, opts: { shape?: 'bare' | 'paged', perPage?: number, throttleOnce?: boolean | (() => Record<string, string>), token?: string } = {}) {
  const subs: Sub[] = []
  const calls: string[] = []
  let throttled = false
  let next = 1
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    for await (const chunk of req) body += chunk
    calls.push(`${req.method} ${req.url?.split('?')[0]}`)
    const send = (status: number, value?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(value === undefined ? '' : JSON.stringify(value))
    }
    if (req.headers.authorization !== `Bearer ${opts.token ?? TOKEN}`) return send(401, { message: 'Unauthorized' })
    if (opts.throttleOnce !== undefined && opts.throttleOnce !== false && !throttled) {
      throttled = true
      return send(429, { message: 'Too Many Requests' }, opts.throttleOnce === true ? { 'retry-after': '1' } : opts.throttleOnce())
    }
    const url = new URL(req.url ?? '/', 'http://x')
    if (req.method === 'GET' && url.pathname === '/api/v1/webhooks') {
      if (opts.shape !== 'paged') return send(200, subs)
      const perPage = opts.perPage ?? 1
      const page = Number(url.searchParams.get('page') ?? 1)
      return send(200, { results: subs.slice((page - 1) * perPage, page * perPage), totalResults: subs.length, page, totalPages: Math.max(1, Math.ceil(subs.length / perPage)) })
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/webhooks') {
      const sub = { id: `00000000-0000-4000-8000-00000000000${next++}`, ...JSON.parse(body) }
      subs.push(sub)
      return send(201, sub)
    }
    const m = /^\/api\/v1\/webhooks\/(.+)$/.exec(url.pathname)
    const existing = subs.find((s) => s.id === m?.[1])
    if (req.method === 'PUT' && existing !== undefined) {
      Object.assign(existing, JSON.parse(body))
      return send(200, existing)
    }
    send(404, { message: 'Not Found' })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, subs, calls }
}

function env (t: TestContext, gupyUrl: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_PATH: join(tempDir(t), 'bridge.sqlite'),
    GUPY_WEBHOOK_SECRETS: SECRET,
    GUPY_API_URL: gupyUrl,
    GUPY_API_TOKEN: TOKEN,
    PUBLIC_URL,
    GUPY_TECH_OWNER_NAME: 'Equipe de Integração',
    GUPY_TECH_OWNER_EMAIL: 'integracao@example.com',
    ...extra
  }
}

describe('register-webhooks', () => {
  test('a fresh account gets both subscriptions; a second run changes nothing; the secret is never printed', async (t) => {
    const gupy = await fakeGupy(t)
    const e = env(t, gupy.url)
    const first = await cli(['register-webhooks'], e)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /application\.created: created .*→ https:\/\/bridge\.example\.com\/webhooks\/gupy\napplication\.moved: created/)
    assert.deepEqual(gupy.subs.map((s) => [s.action, s.status, s.postbackUrl, s.clientHeaders]), ['application.created', 'application.moved'].map((action) =>
      [action, 'active', `${PUBLIC_URL}/webhooks/gupy`, { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' }]))
    assert.equal(gupy.subs[0]!.techOwnerEmail, 'integracao@example.com')

    const calls = gupy.calls.length
    const second = await cli(['register-webhooks'], e)
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stdout, /application\.created: up to date .*\napplication\.moved: up to date/)
    assert.deepEqual(gupy.calls.slice(calls), ['GET /api/v1/webhooks'], 'only a listing, no write')
    assert.equal(gupy.subs.length, 2)
    for (const output of [first, second]) assert.ok(!(output.stdout + output.stderr).includes(SECRET))
  })

  test('an inactive subscription is re-activated; a changed PUBLIC_URL and a rotated secret are updated, not duplicated', async (t) => {
    const gupy = await fakeGupy(t)
    assert.equal((await cli(['register-webhooks'], env(t, gupy.url))).code, 0)
    gupy.subs[1]!.status = 'inactive'
    const reactivated = await cli(['register-webhooks'], env(t, gupy.url))
    assert.match(reactivated.stdout, /application\.moved: updated .*status inactive → active/)
    assert.equal(gupy.subs[1]!.status, 'active')

    const rotated = 'new-secret-abcdef0123456789'
    const moved = await cli(['register-webhooks'], env(t, gupy.url, { PUBLIC_URL: 'https://new-host.example.com/', GUPY_WEBHOOK_SECRETS: `${rotated},${SECRET}` }))
    assert.equal(moved.code, 0, moved.stderr)
    assert.match(moved.stdout, /postbackUrl https:\/\/bridge\.example\.com\/webhooks\/gupy → https:\/\/new-host\.example\.com\/webhooks\/gupy; Authorization header/)
    assert.equal(gupy.subs.length, 2)
    assert.ok(gupy.subs.every((s) => s.postbackUrl === 'https://new-host.example.com/webhooks/gupy' && s.clientHeaders.Authorization === `Bearer ${rotated}`))
    assert.ok(!moved.stdout.includes(rotated))
  })

  test('paged listing across several pages, and a 429 with Retry-After then success', async (t) => {
    const gupy = await fakeGupy(t, { shape: 'paged', perPage: 1 })
    gupy.subs.push({ id: 'other', action: 'application.moved', status: 'active', postbackUrl: 'https://another-tool.example.com/hook', clientHeaders: {}, techOwnerName: 'x', techOwnerEmail: 'x@example.com' })
    assert.equal((await cli(['register-webhooks'], env(t, gupy.url))).code, 0)
    assert.equal(gupy.subs.length, 3, 'another tool\'s subscription is left alone')
    const before = gupy.calls.length
    const again = await cli(['register-webhooks'], env(t, gupy.url))
    assert.match(again.stdout, /application\.created: up to date .*\napplication\.moved: up to date/)
    assert.deepEqual(gupy.calls.slice(before), Array(3).fill('GET /api/v1/webhooks'), 'three pages of one subscription each, walked')

    const throttled = await fakeGupy(t, { throttleOnce: true })
    const res = await cli(['register-webhooks'], env(t, throttled.url))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stderr, /^Gupy's rate limit: Gupy answered 429 on GET \/api\/v1\/webhooks\?fields=all&perPage=100&page=1; this command waits until \d\d:\d\d:\d\d UTC \(1 s\)$/m)
    assert.equal(throttled.subs.length, 2)
  })

  test('a 429 without Retry-After pauses every process on the database at least 60 s (X-RateLimit-Reset only longer), and status shows it', { timeout: 60_000 }, async (t) => {
    const cases: Array<[Record<string, string>, number]> = [[{ waf: 'Rate-Limit' }, 60], [{ 'x-ratelimit-reset': '90' }, 90], [{ 'x-ratelimit-reset': '2' }, 60]]
    for (const [headers, seconds] of cases) {
      const gupy = await fakeGupy(t, { throttleOnce: () => headers })
      const e = env(t, gupy.url)
      openDatabase(e.DATABASE_PATH).close() // the service has run on this database
      const run = spawnBridge(t, 'cli', ['register-webhooks'], { env: e })
      while (!run.stderr().includes('waits until') && run.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20))
      assert.match(run.stderr(), new RegExp(`^Gupy's rate limit: Gupy answered 429${headers.waf === undefined ? '' : ' \\(WAF: Rate-Limit\\)'} on GET /api/v1/webhooks\\S+; every process on this database waits until \\d\\d:\\d\\d:\\d\\d UTC \\(${seconds} s\\)$`, 'm'))
      const status = await cli(['status'], { DATABASE_PATH: e.DATABASE_PATH })
      assert.match(status.stdout, /^Gupy request budget \(400 a minute for every process on this database\): PAUSED until \S+ after 429 .*on GET \/api\/v1\/webhooks\S+; last 429 \d+ s ago, 1 in all$/m)
      const report = JSON.parse((await cli(['status', '--json'], { DATABASE_PATH: e.DATABASE_PATH })).stdout)
      assert.equal(Date.parse(report.gupy.budget.pausedUntil) - Date.parse(report.gupy.budget.lastPauseAt), seconds * 1000)
      await run.stop('SIGKILL')
      assert.deepEqual(gupy.calls, ['GET /api/v1/webhooks'], 'nothing more while paused')
    }
  })

  test('401 says the token is wrong or lacks the webhook permissions; missing settings are usage errors', async (t) => {
    const gupy = await fakeGupy(t, { token: 'another-token' })
    const res = await cli(['register-webhooks'], env(t, gupy.url))
    assert.equal(res.code, 1)
    assert.match(res.stderr, /Gupy refused the token \(401\): check GUPY_API_TOKEN, and that the token has the webhook permissions/)
    const noUrl = await cli(['register-webhooks'], { ...env(t, gupy.url), PUBLIC_URL: '' })
    assert.equal(noUrl.code, 2)
    assert.match(noUrl.stderr, /set PUBLIC_URL/)
    const http = await cli(['register-webhooks'], env(t, gupy.url, { PUBLIC_URL: 'http://bridge.example.com' }))
    assert.equal(http.code, 1)
    assert.match(http.stderr, /PUBLIC_URL: must be an https URL/)
  })
})

describe('check-webhooks', () => {
  test('ok when both are active and point here; exit 1 when one is missing, inactive or elsewhere', async (t) => {
    const gupy = await fakeGupy(t, { shape: 'paged', perPage: 5 })
    const e = env(t, gupy.url)
    const missing = await cli(['check-webhooks'], e)
    assert.equal(missing.code, 1)
    assert.match(missing.stdout, /application\.created: MISSING\napplication\.moved: MISSING\nlast webhook received: never\nrun `gupy-rubeus-bridge register-webhooks` to fix/)
    await cli(['register-webhooks'], e)
    const ok = await cli(['check-webhooks'], e)
    assert.equal(ok.code, 0, ok.stdout)
    assert.match(ok.stdout, /application\.created: ok .*\napplication\.moved: ok /)
    gupy.subs[0]!.status = 'inactive'
    gupy.subs[1]!.postbackUrl = 'https://elsewhere.example.com/webhooks/gupy'
    const wrong = await cli(['check-webhooks'], e)
    assert.equal(wrong.code, 1)
    assert.match(wrong.stdout, /application\.created: WRONG: status inactive → active/)
    assert.match(wrong.stdout, /application\.moved: MISSING \(points elsewhere: https:\/\/elsewhere\.example\.com\/webhooks\/gupy\)/)
  })
})
