/** The subscription watchdog in the service, against a stand-in for Gupy's webhook API. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { GUPY_TOKEN, gupyStandIn } from '../gupy-stand-in.js'
import { SECRET, buildTestApp, cli, logSink } from '../helper.js'

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
