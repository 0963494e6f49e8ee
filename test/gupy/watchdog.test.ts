/** The subscription watchdog in the service, against a stand-in for Gupy's webhook API. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { GUPY_TOKEN, gupyStandIn, type Sub } from '../gupy-stand-in.js'
import { SECRET, buildTestApp, cli, logSink, tempDir } from '../helper.js'

const PUBLIC_URL = 'https://bridge.example.com'
const HOOK = `${PUBLIC_URL}/webhooks/gupy`

async function setUp (t: TestContext, repair: string) {
  const gupy = await gupyStandIn(t)
  // application.created was deleted by Gupy; application.moved turned inactive.
  gupy.subs.push({ id: 'moved-1', action: 'application.moved', status: 'inactive', postbackUrl: HOOK, clientHeaders: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' }, techOwnerName: 'Equipe', techOwnerEmail: 'equipe@example.com' })
  const logs = logSink()
  const test = await buildTestApp(t, {
    GUPY_API_TOKEN: GUPY_TOKEN,
    GUPY_API_URL: gupy.url,
    PUBLIC_URL,
    GUPY_TECH_OWNER_NAME: 'Equipe',
    GUPY_TECH_OWNER_EMAIL: 'equipe@example.com',
    GUPY_WEBHOOK_REPAIR: repair
  }, logs.stream)
  const run = await test.app.gupyWork.watch!() // joins the start-up check, or runs one
  return { gupy, logs, test, run }
}

const gauge = (metrics: string, event: string) => new RegExp(`bridge_gupy_subscription_up\\{event="${event.replace('.', '\\.')}"\\} (\\d)`).exec(metrics)?.[1]

describe('subscription watchdog', () => {
  test('re-creates a deleted subscription and re-activates an inactive one, with a warning for each; status shows the check', async (t) => {
    const { gupy, logs, test, run } = await setUp(t, 'true')
    assert.equal(run.ok, true, run.error)
    assert.deepEqual(gupy.subs.map((s) => [s.action, s.status, s.postbackUrl]).sort(), [['application.created', 'active', HOOK], ['application.moved', 'active', HOOK]])
    assert.equal(gupy.subs.length, 2, 'updated, not duplicated')
    assert.ok(gupy.calls.includes('POST /api/v1/webhooks') && gupy.calls.includes('PUT /api/v1/webhooks/moved-1'))
    const metrics = (await test.app.inject({ method: 'GET', url: '/metrics' })).body
    assert.equal(gauge(metrics, 'application.created'), '1')
    assert.equal(gauge(metrics, 'application.moved'), '1')
    const warnings = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40)
    assert.ok(warnings.some((w) => w.event === 'application.created' && w.state === 'missing'))
    assert.ok(warnings.some((w) => w.event === 'application.moved' && w.state === 'wrong' && w.differences.includes('status inactive → active')))
    assert.ok(warnings.some((w) => w.event === 'application.created' && w.repair === 'created'))
    assert.ok(warnings.some((w) => w.event === 'application.moved' && w.repair === 'updated'))
    assert.ok(!logs.text().includes(SECRET) && !logs.text().includes(GUPY_TOKEN), 'neither the secret nor the token is logged')

    const calls = gupy.calls.length
    await test.app.gupyWork.watch!()
    assert.deepEqual(gupy.calls.slice(calls), ['GET /api/v1/webhooks p1'], 'once repaired, a check only lists')
    const status = await cli(['status'], { DATABASE_PATH: test.config.DATABASE_PATH })
    assert.match(status.stdout, /Gupy subscriptions \(watchdog\): checked .*application\.created ok, application\.moved ok/)
  })

  test('with GUPY_WEBHOOK_REPAIR=false it only warns and reports them down', async (t) => {
    const { gupy, logs, test, run } = await setUp(t, 'false')
    assert.equal(run.ok, true, run.error)
    assert.deepEqual(gupy.subs.map((s) => [s.action, s.status]), [['application.moved', 'inactive']], 'left alone')
    assert.ok(gupy.calls.every((c) => c === 'GET /api/v1/webhooks p1'), 'nothing but listings')
    const metrics = (await test.app.inject({ method: 'GET', url: '/metrics' })).body
    assert.equal(gauge(metrics, 'application.created'), '0')
    assert.equal(gauge(metrics, 'application.moved'), '0')
    assert.match(logs.text(), /Gupy subscription is not as it should be/)
    const status = JSON.parse((await cli(['status', '--json'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout)
    assert.deepEqual(status.gupy.watch.summary.subscriptions.map((s: { action: string, state: string, repair: string, up: boolean }) => [s.action, s.state, s.repair, s.up]),
      [['application.created', 'missing', 'off', false], ['application.moved', 'wrong', 'off', false]])
  })
})

const STAGING = 'https://staging.example.com'
const STAGING_SECRET = 'staging-secret-0123456789abcdef'
const HEADERS = { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' }

/** A service with the watchdog on (repairing), against the stand-in; `env` picks its PUBLIC_URL, secret or database. */
async function bridge (t: TestContext, gupyUrl: string, env: Record<string, string> = {}) {
  const logs = logSink()
  const test = await buildTestApp(t, {
    GUPY_API_TOKEN: GUPY_TOKEN,
    GUPY_API_URL: gupyUrl,
    PUBLIC_URL,
    GUPY_TECH_OWNER_NAME: 'Equipe',
    GUPY_TECH_OWNER_EMAIL: 'equipe@example.com',
    ...env
  }, logs.stream)
  return { ...test, logs }
}

const sub = (id: string, action: string, postbackUrl: string, extra: Partial<Sub> = {}): Sub =>
  ({ id, action, status: 'active', postbackUrl, clientHeaders: HEADERS, techOwnerName: 'Equipe', techOwnerEmail: 'equipe@example.com', ...extra })

describe('the watchdog changes only the bridge\'s subscriptions', () => {
  test('another integration\'s subscription posting to a /webhooks/gupy address is left alone; ours, missing, is created beside it', async (t) => {
    const gupy = await gupyStandIn(t)
    const erpHeaders = { 'X-Api-Key': 'erp-key-0123456789', 'Content-Type': 'application/json' }
    gupy.subs.push(
      sub('erp-created', 'application.created', 'https://erp.example.com/webhooks/gupy', { clientHeaders: erpHeaders, techOwnerName: 'ERP', techOwnerEmail: 'erp@example.com' }),
      sub('erp-moved', 'application.moved', 'https://erp.example.com/webhooks/gupy?apiKey=erp-url-key-987', { status: 'inactive', clientHeaders: erpHeaders }))
    const erp = structuredClone(gupy.subs)
    const { app, logs } = await bridge(t, gupy.url)
    const run = await app.gupyWork.watch!()
    assert.equal(run.ok, true, run.error)
    assert.deepEqual(gupy.subs.slice(0, 2), erp, 'key, owner and inactive status as they were')
    assert.ok(!gupy.calls.some((c) => c.startsWith('PUT')), 'nothing updated')
    assert.deepEqual(gupy.subs.slice(2).map((s) => [s.action, s.postbackUrl, s.status]), [['application.created', HOOK, 'active'], ['application.moved', HOOK, 'active']])
    const warnings = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40)
    for (const event of ['application.created', 'application.moved']) {
      assert.ok(warnings.some((w) => w.event === event && w.state === 'missing' &&
        w.differences[0] === 'missing (not this bridge\'s, left alone: https://erp.example.com/webhooks/gupy)'), JSON.stringify(warnings))
    }
    assert.ok(!logs.text().includes('erp-key-0123456789') && !logs.text().includes('erp-url-key-987'), 'another\'s keys are never logged')
    assert.deepEqual([...app.store.gupy.ownedSubscriptions().keys()], gupy.subs.slice(2).map((s) => s.id), 'what it created is kept as its own')

    for (let round = 0; round < 3; round++) await app.gupyWork.watch!()
    assert.equal(gupy.subs.length, 4)
    assert.deepEqual(gupy.subs.slice(0, 2), erp)
    assert.equal(gupy.calls.filter((c) => !c.startsWith('GET')).length, 2, 'the two creations, nothing since')
  })

  test('two bridges on one Gupy account (production and staging) each keep their own: no flipping, both up, over several rounds', async (t) => {
    const gupy = await gupyStandIn(t)
    const production = await bridge(t, gupy.url)
    await production.app.gupyWork.watch!()
    const staging = await bridge(t, gupy.url, { PUBLIC_URL: STAGING, GUPY_WEBHOOK_SECRETS: STAGING_SECRET })
    await staging.app.gupyWork.watch!()
    const writes = () => gupy.calls.filter((c) => !c.startsWith('GET'))
    assert.deepEqual(writes(), Array(4).fill('POST /api/v1/webhooks'), 'each created its own two')
    for (let round = 0; round < 3; round++) {
      for (const { app } of [production, staging]) {
        const run = await app.gupyWork.watch!()
        assert.deepEqual(run.summary.subscriptions, [
          { action: 'application.created', state: 'ok', repair: 'none', up: true }, { action: 'application.moved', state: 'ok', repair: 'none', up: true }])
      }
    }
    assert.equal(writes().length, 4, 'no update in any later round')
    assert.deepEqual(gupy.subs.map((s) => [s.action, s.postbackUrl, s.clientHeaders.Authorization]), [
      ['application.created', HOOK, `Bearer ${SECRET}`], ['application.moved', HOOK, `Bearer ${SECRET}`],
      ['application.created', `${STAGING}/webhooks/gupy`, `Bearer ${STAGING_SECRET}`], ['application.moved', `${STAGING}/webhooks/gupy`, `Bearer ${STAGING_SECRET}`]])
    for (const { app } of [production, staging]) {
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
      assert.equal(gauge(metrics, 'application.created'), '1')
      assert.equal(gauge(metrics, 'application.moved'), '1')
    }
  })

  test('one made by hand at exactly PUBLIC_URL/webhooks/gupy is kept as ours, and moved when PUBLIC_URL changes', async (t) => {
    const gupy = await gupyStandIn(t)
    gupy.subs.push(sub('hand-created', 'application.created', HOOK), sub('hand-moved', 'application.moved', HOOK, { status: 'inactive' }))
    const database = { DATABASE_PATH: join(tempDir(t), 'bridge.sqlite') }
    const first = await bridge(t, gupy.url, database)
    const run = await first.app.gupyWork.watch!()
    assert.deepEqual(run.summary.subscriptions, [
      { action: 'application.created', state: 'ok', repair: 'none', up: true }, { action: 'application.moved', state: 'wrong', repair: 'updated', up: true }])
    assert.deepEqual(first.app.store.gupy.ownedSubscriptions(), new Map([['hand-created', HOOK], ['hand-moved', HOOK]]), 'found up to date or repaired: kept as ours')
    await first.app.close()

    const moved = await bridge(t, gupy.url, { ...database, PUBLIC_URL: 'https://new-host.example.com' })
    const after = await moved.app.gupyWork.watch!()
    assert.equal(after.ok, true, after.error)
    assert.deepEqual(gupy.subs.map((s) => [s.id, s.postbackUrl, s.status]), [
      ['hand-created', 'https://new-host.example.com/webhooks/gupy', 'active'], ['hand-moved', 'https://new-host.example.com/webhooks/gupy', 'active']], 'moved, not duplicated')
    assert.ok(gupy.calls.includes('PUT /api/v1/webhooks/hand-created') && !gupy.calls.includes('POST /api/v1/webhooks'))
  })
})
