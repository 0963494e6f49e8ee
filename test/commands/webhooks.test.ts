/** register-webhooks / check-webhooks against a local stand-in for Gupy's webhook API. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../../src/store/database.js'
import { Database } from '../../src/store/sqlite.js'
import { ownedSubscriptions } from '../../src/store/gupy-state.js'
import { loadMigrations, migrate } from '../../src/store/migrate.js'
import { GUPY_TOKEN, gupyStandIn } from '../gupy-stand-in.js'
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
    assert.match(first.stderr, /created the database at .*bridge\.sqlite to keep the subscriptions' ids/, 'before the first start it makes the database')
    assert.deepEqual([...owned(e.DATABASE_PATH).keys()].sort(), gupy.subs.map((s) => s.id).sort(), 'both ids kept')
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
    assert.doesNotMatch(second.stderr, /created the database/)
    for (const output of [first, second]) assert.ok(!(output.stdout + output.stderr).includes(SECRET))
  })

  test('an inactive subscription is re-activated; a changed PUBLIC_URL and a rotated secret are updated, not duplicated', async (t) => {
    const gupy = await fakeGupy(t)
    const e = env(t, gupy.url)
    assert.equal((await cli(['register-webhooks'], e)).code, 0)
    const ids = gupy.subs.map((s) => s.id)
    gupy.subs[1]!.status = 'inactive'
    const reactivated = await cli(['register-webhooks'], e)
    assert.match(reactivated.stdout, /application\.moved: updated .*status inactive → active/)
    assert.equal(gupy.subs[1]!.status, 'active')

    // The ids kept in the database are the bridge's wherever they point: a new PUBLIC_URL moves them.
    const rotated = 'new-secret-abcdef0123456789'
    const moved = await cli(['register-webhooks'], { ...e, PUBLIC_URL: 'https://new-host.example.com/', GUPY_WEBHOOK_SECRETS: `${rotated},${SECRET}` })
    assert.equal(moved.code, 0, moved.stderr)
    assert.match(moved.stdout, /postbackUrl https:\/\/bridge\.example\.com\/webhooks\/gupy → https:\/\/new-host\.example\.com\/webhooks\/gupy; Authorization header/)
    assert.deepEqual(gupy.subs.map((s) => s.id), ids, 'the same two subscriptions, moved')
    assert.ok(gupy.subs.every((s) => s.postbackUrl === 'https://new-host.example.com/webhooks/gupy' && s.clientHeaders.Authorization === `Bearer ${rotated}`))
    assert.ok(!moved.stdout.includes(rotated))
    assert.deepEqual([...owned(e.DATABASE_PATH).values()], Array(2).fill('https://new-host.example.com/webhooks/gupy'), 'kept with the address they now have')
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
    assert.match(res.stderr, /^Gupy's rate limit: Gupy answered 429 on GET \/api\/v1\/webhooks\?fields=all&perPage=100&page=1; every process on this database waits until \d\d:\d\d:\d\d UTC \(1 s\)$/m)
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
      // The pause outlives the process that met the 429: a check started now waits for it too, without knocking.
      const check = spawnBridge(t, 'cli', ['check-webhooks'], { env: e })
      while (!check.stderr().includes('waits until') && check.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20))
      assert.match(check.stderr(), /^Gupy's rate limit: Gupy answered 429 .*; every process on this database waits until /m)
      await check.stop('SIGKILL')
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
    assert.match(missing.stdout, /application\.created: MISSING\napplication\.moved: MISSING\nno readable database at .*: only subscriptions posting to exactly https:\/\/bridge\.example\.com\/webhooks\/gupy were counted as this bridge's\nlast webhook received: never\nrun `gupy-rubeus-bridge register-webhooks` to fix/)
    assert.equal(existsSync(e.DATABASE_PATH), false, 'a check creates no database')
    await cli(['register-webhooks'], e)
    const ok = await cli(['check-webhooks'], e)
    assert.equal(ok.code, 0, ok.stdout)
    assert.match(ok.stdout, /application\.created: ok .*\napplication\.moved: ok .*\nlast webhook received: never\n$/)

    // PUBLIC_URL changed and register-webhooks not yet run: ours (kept in the database) point elsewhere.
    gupy.subs[0]!.status = 'inactive'
    const changed = await cli(['check-webhooks'], { ...e, PUBLIC_URL: 'https://new-host.example.com' })
    assert.equal(changed.code, 1)
    assert.match(changed.stdout, /application\.created: WRONG: status inactive → active; postbackUrl https:\/\/bridge\.example\.com\/webhooks\/gupy → https:\/\/new-host\.example\.com\/webhooks\/gupy \(/)
    assert.match(changed.stdout, /application\.moved: WRONG: postbackUrl https:\/\/bridge\.example\.com\/webhooks\/gupy → https:\/\/new-host/)

    // Re-pointed by someone else: no longer this bridge's, only mentioned.
    const moved = gupy.subs[1]!
    moved.postbackUrl = 'https://elsewhere.example.com/webhooks/gupy'
    const wrong = await cli(['check-webhooks'], e)
    assert.equal(wrong.code, 1)
    assert.match(wrong.stdout, /application\.created: WRONG: status inactive → active \(/)
    assert.match(wrong.stdout, new RegExp(`application\\.moved: MISSING\n  another subscription for application\\.moved posts to https://elsewhere\\.example\\.com/webhooks/gupy \\(${moved.id}\\): not this bridge's, left alone\n`))
    const again = await cli(['register-webhooks'], e)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /application\.moved: created/)
    assert.equal(moved.postbackUrl, 'https://elsewhere.example.com/webhooks/gupy', 'not moved back')
    assert.equal(gupy.subs.length, 3)
  })

  test('reads a database from before the subscriptions\' ids were kept, without migrating it', async (t) => {
    const gupy = await gupyStandIn(t)
    const e = env(t, gupy.url, { GUPY_API_TOKEN: GUPY_TOKEN })
    const db = new Database(e.DATABASE_PATH)
    migrate(db, loadMigrations().filter((m) => m.version < 9))
    db.close()
    for (const action of ['application.created', 'application.moved']) gupy.subs.push(sub(`hand-${action}`, action, `${PUBLIC_URL}/webhooks/gupy`))
    const res = await cli(['check-webhooks'], e)
    assert.equal(res.code, 0, res.stdout + res.stderr)
    assert.match(res.stdout, /application\.created: ok \(hand-application\.created\)\napplication\.moved: ok \(hand-application\.moved\)\nlast webhook received: never\n$/)
    const after = new Database(e.DATABASE_PATH, { readonly: true })
    assert.equal(after.pragma('user_version', { simple: true }), 8, 'left as it was')
    after.close()
  })
})

/** A subscription as Gupy lists it; by default ours in every field but the address. */
function sub (id: string, action: string, postbackUrl: string, clientHeaders: Record<string, string> = { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' }, status = 'active'): Sub {
  return { id, action, status, postbackUrl, clientHeaders, techOwnerName: 'Equipe de Integração', techOwnerEmail: 'integracao@example.com' }
}

/** What register-webhooks kept in the database: subscription id → the address it gave it. */
function owned (file: string): Map<string, string> {
  const db = new Database(file, { readonly: true })
  try {
    return ownedSubscriptions(db)
  } finally {
    db.close()
  }
}

const ERP_HEADERS = { 'X-Api-Key': 'erp-key-0123456789', 'Content-Type': 'application/json' }
const STAGING_SECRET = 'staging-secret-0123456789abcdef'

describe('whose subscriptions are the bridge\'s', () => {
  test('another integration\'s subscription posting to a /webhooks/gupy address is never changed, even when ours is missing', async (t) => {
    const gupy = await gupyStandIn(t)
    const e = env(t, gupy.url, { GUPY_API_TOKEN: GUPY_TOKEN })
    gupy.subs.push(
      { ...sub('erp-created', 'application.created', 'https://erp.example.com/webhooks/gupy', ERP_HEADERS), techOwnerName: 'ERP', techOwnerEmail: 'erp@example.com' },
      { ...sub('erp-moved', 'application.moved', 'https://erp.example.com/webhooks/gupy?apiKey=erp-url-key-987', ERP_HEADERS, 'inactive'), techOwnerName: 'ERP', techOwnerEmail: 'erp@example.com' })
    const erp = structuredClone(gupy.subs)

    const check = await cli(['check-webhooks'], e)
    assert.equal(check.code, 1, 'another\'s subscription is not counted as ours')
    assert.match(check.stdout, /application\.created: MISSING\napplication\.moved: MISSING\n/)
    assert.match(check.stdout, /another subscription for application\.created posts to https:\/\/erp\.example\.com\/webhooks\/gupy \(erp-created\): not this bridge's, left alone/)

    const res = await cli(['register-webhooks'], e)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /application\.created: created .*\napplication\.moved: created .*\n/)
    assert.match(res.stdout, /another subscription for application\.moved posts to https:\/\/erp\.example\.com\/webhooks\/gupy \(erp-moved\): not this bridge's, left alone/)
    assert.doesNotMatch(res.stdout, /note:/, 'another\'s subscription is no extra of ours')
    assert.deepEqual(gupy.subs.slice(0, 2), erp, 'the ERP\'s subscriptions are as they were, key, owner and inactive status included')
    assert.ok(!gupy.calls.some((c) => c.startsWith('PUT')), 'nothing updated')
    assert.deepEqual(gupy.subs.slice(2).map((s) => [s.action, s.postbackUrl, s.status]), [
      ['application.created', `${PUBLIC_URL}/webhooks/gupy`, 'active'], ['application.moved', `${PUBLIC_URL}/webhooks/gupy`, 'active']])
    for (const output of [res, check]) assert.ok(!/erp-key-0123456789|erp-url-key-987/.test(output.stdout + output.stderr), 'another\'s keys are never shown')

    const ok = await cli(['check-webhooks'], e)
    assert.equal(ok.code, 0, ok.stdout)
    assert.match(ok.stdout, /application\.created: ok .*\napplication\.moved: ok .*\n {2}another subscription for application\.created posts to https:\/\/erp\.example\.com/)
  })

  test('two bridges on one Gupy account (production and staging) each keep their own, stable over several rounds', async (t) => {
    const gupy = await gupyStandIn(t)
    const production = env(t, gupy.url, { GUPY_API_TOKEN: GUPY_TOKEN })
    const staging = env(t, gupy.url, { GUPY_API_TOKEN: GUPY_TOKEN, PUBLIC_URL: 'https://staging.example.com', GUPY_WEBHOOK_SECRETS: STAGING_SECRET })
    const runs: Array<{ code: number, stdout: string, stderr: string }> = []
    for (let round = 0; round < 3; round++) {
      for (const bridge of [production, staging]) runs.push(await cli(['register-webhooks'], bridge))
    }
    assert.ok(runs.every((r) => r.code === 0), runs.map((r) => r.stderr).join(''))
    assert.match(runs[0]!.stdout, /application\.created: created .*\napplication\.moved: created/)
    assert.match(runs[1]!.stdout, /application\.created: created .*\napplication\.moved: created .*\n {2}another subscription for application\.created posts to https:\/\/bridge\.example\.com\/webhooks\/gupy \(.*\): not this bridge's, left alone/)
    for (const later of runs.slice(2)) assert.match(later.stdout, /application\.created: up to date .*\napplication\.moved: up to date /)
    assert.deepEqual(gupy.calls.filter((c) => !c.startsWith('GET')), Array(4).fill('POST /api/v1/webhooks'), 'two creations each, then no write at all')
    assert.deepEqual(gupy.subs.map((s) => [s.action, s.postbackUrl, s.clientHeaders.Authorization]), [
      ['application.created', `${PUBLIC_URL}/webhooks/gupy`, `Bearer ${SECRET}`],
      ['application.moved', `${PUBLIC_URL}/webhooks/gupy`, `Bearer ${SECRET}`],
      ['application.created', 'https://staging.example.com/webhooks/gupy', `Bearer ${STAGING_SECRET}`],
      ['application.moved', 'https://staging.example.com/webhooks/gupy', `Bearer ${STAGING_SECRET}`]])
    for (const bridge of [production, staging]) {
      const check = await cli(['check-webhooks'], bridge)
      assert.equal(check.code, 0, check.stdout)
      assert.equal(check.stdout.match(/not this bridge's, left alone/g)?.length, 2, 'the other bridge\'s two, mentioned')
    }
    for (const r of runs) assert.ok(!(r.stdout + r.stderr).includes(SECRET) && !(r.stdout + r.stderr).includes(STAGING_SECRET))
  })

  test('one made by hand at exactly PUBLIC_URL/webhooks/gupy is ours: repaired, kept, and moved with PUBLIC_URL; the extra note counts only ours', async (t) => {
    const gupy = await gupyStandIn(t)
    const e = env(t, gupy.url, { GUPY_API_TOKEN: GUPY_TOKEN })
    gupy.subs.push(
      sub('hand-created', 'application.created', `${PUBLIC_URL}/webhooks/gupy`, { Authorization: 'Bearer an-old-secret-0123456789' }, 'inactive'),
      sub('hand-moved', 'application.moved', `${PUBLIC_URL}/webhooks/gupy`),
      sub('hand-moved-twice', 'application.moved', `${PUBLIC_URL}/webhooks/gupy`),
      sub('staging-moved', 'application.moved', 'https://staging.example.com/webhooks/gupy', { Authorization: `Bearer ${STAGING_SECRET}`, 'Content-Type': 'application/json' }))
    const staging = structuredClone(gupy.subs[3])
    const res = await cli(['register-webhooks'], e)
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /application\.created: updated \(hand-created\): status inactive → active; Authorization header → Bearer <first GUPY_WEBHOOK_SECRETS entry>; Content-Type header → application\/json\n/)
    assert.match(res.stdout, /application\.moved: up to date \(hand-moved\)\n {2}note: 1 more of this bridge's subscriptions for application\.moved \(hand-moved-twice\); remove the extra ones in Gupy\n/)
    assert.deepEqual(gupy.subs[0]!.clientHeaders, { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' })
    assert.deepEqual(owned(e.DATABASE_PATH), new Map([['hand-created', `${PUBLIC_URL}/webhooks/gupy`], ['hand-moved', `${PUBLIC_URL}/webhooks/gupy`]]), 'repaired and kept, recorded as ours')

    const moved = await cli(['register-webhooks'], { ...e, PUBLIC_URL: 'https://new-host.example.com' })
    assert.equal(moved.code, 0, moved.stderr)
    assert.match(moved.stdout, /application\.created: updated \(hand-created\): postbackUrl .*\napplication\.moved: updated \(hand-moved\): postbackUrl /)
    assert.equal(gupy.subs.length, 4, 'moved, not duplicated')
    assert.deepEqual(gupy.subs.map((s) => s.postbackUrl), ['https://new-host.example.com/webhooks/gupy', 'https://new-host.example.com/webhooks/gupy', `${PUBLIC_URL}/webhooks/gupy`, 'https://staging.example.com/webhooks/gupy'],
      'the unrecorded duplicate stays behind, no longer ours')
    assert.deepEqual(gupy.subs[3], staging, 'the other bridge\'s is untouched throughout')
  })
})
