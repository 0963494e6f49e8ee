/** The operator console: Basic auth, headers, no personal data, escaping, and the same report as `status --json`. */
import { describe, test, mock } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { buildTestApp, cli, CONSOLE_PASSWORD } from '../helper.js'
import { knownTraffic } from './traffic.js'
import type { App } from '../../src/app.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const AUTH = basic('operator', CONSOLE_PASSWORD)
const get = (app: App, url: string, authorization?: string, remoteAddress = '127.0.0.1') =>
  app.inject({ method: 'GET', url, remoteAddress, headers: authorization === undefined ? {} : { authorization } })

describe('console', () => {
  test('refuses missing or wrong credentials with 401 and a Basic challenge, on the page and its JSON', async (t) => {
    const { app } = await buildTestApp(t)
    for (const [i, url] of ['/console', '/console/status.json', '/console/console.js'].entries()) {
      const from = `192.0.2.${i + 1}` // each URL's six refusals from its own address: ten would slow it down
      for (const authorization of [undefined, basic('operator', 'wrong-password-0123456789'), basic('admin', CONSOLE_PASSWORD),
        basic('operator', CONSOLE_PASSWORD.slice(0, -1)), `Bearer ${CONSOLE_PASSWORD}`, 'Basic !!!']) {
        const res = await get(app, url, authorization, from)
        assert.equal(res.statusCode, 401, `${url} with ${authorization}`)
        assert.match(String(res.headers['www-authenticate']), /^Basic realm="[^"]+"/)
        assert.equal(res.headers['cache-control'], 'no-store')
        assert.doesNotMatch(res.body, /<html/)
      }
      assert.equal((await get(app, url, AUTH, from)).statusCode, 200)
    }
  })

  test('compares the whole user:password in constant time: one equal-length comparison whatever is presented', async (t) => {
    const { app } = await buildTestApp(t)
    const spy = mock.method(crypto, 'timingSafeEqual')
    syncBuiltinESMExports()
    t.after(() => { spy.mock.restore(); syncBuiltinESMExports() })
    for (const authorization of [basic('x', 'y'), basic('admin', CONSOLE_PASSWORD), basic('operator', CONSOLE_PASSWORD + 'longer-by-far'), AUTH]) {
      const before = spy.mock.callCount()
      await get(app, '/console/status.json', authorization)
      const calls = spy.mock.calls.slice(before)
      assert.equal(calls.length, 1)
      const [a, b] = calls[0]!.arguments as [Buffer, Buffer]
      assert.equal(a.length, 32)
      assert.equal(b.length, 32)
    }
  })

  test('answers HTML with no-store and a strict CSP, and no personal value after deliveries full of them', async (t) => {
    const { app } = await buildTestApp(t)
    const { personal } = await knownTraffic(app)
    const res = await get(app, '/console', AUTH)
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/html/)
    assert.equal(res.headers['cache-control'], 'no-store')
    const csp = String(res.headers['content-security-policy'])
    assert.match(csp, /default-src 'none'/)
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/)
    assert.doesNotMatch(res.body, /<script>|<style>| style="| on\w+="/) // nothing inline the CSP would block
    const json = await get(app, '/console/status.json', AUTH)
    for (const body of [res.body, json.body]) {
      for (const value of personal) assert.ok(!body.includes(value), `${value} must not appear`)
    }
    const report = json.json()
    assert.deepEqual(report.deliveries, { received: 0, mapped: 7, failed: 1, ignored: 1 })
    assert.deepEqual(report.service.outcomesSinceStart, { accepted: 8, duplicate: 1, ignored: 1, rejected: 1, unavailable: 0 })
    assert.equal(report.failures[0].count, 1)
    assert.equal(report.held[0].count, 1)
    const contacts = report.feeds.find((f: { feed: string }) => f.feed === 'contatos')
    assert.equal(contacts.served, 3)
    assert.equal(contacts.lastBatch.rewind, `gupy-rubeus-bridge rewind --feed contatos --batch ${contacts.lastBatch.id}`)
    assert.ok(Date.now() - Date.parse(contacts.lastPoll.at) < 60_000)
    assert.match(res.body, new RegExp(`rewind --feed contatos --batch ${contacts.lastBatch.id}`))
    assert.match(res.body, /gupy-rubeus-bridge reprocess/)
    assert.match(res.body, /não configurado/)
    assert.equal(report.deliveriesPerHour.length, 48)
    assert.equal(report.deliveriesPerHour.at(-1).count, 9)
  })

  test('shows what retention removed and when', async (t) => {
    const { app } = await buildTestApp(t)
    await knownTraffic(app)
    const before = (await get(app, '/console/status.json', AUTH)).json().retention
    assert.notEqual(before.lastRun, null, 'the run at start-up is logged')
    assert.deepEqual(before.lastRemovals, [])
    app.store.db.prepare("UPDATE deliveries SET received_at = received_at - 40 * 86400000 WHERE event_id IN ('console-1', 'console-2')").run()
    assert.equal((await app.store.retention.purge(30, Date.now())).payloads, 2)
    const after = (await get(app, '/console/status.json', AUTH)).json().retention
    assert.equal(after.lastRemovals.length, 1)
    assert.equal(after.lastRemovals[0].payloads, 2)
    assert.ok(Date.now() - Date.parse(after.lastRemovals[0].at) < 60_000)
    assert.match((await get(app, '/console', AUTH)).body, /: 2 corpos brutos, 0 registros servidos/)
  })

  test('escapes every value: a forwarded address full of markup is shown as text', async (t) => {
    const { app } = await buildTestApp(t, { TRUST_PROXY: 'true' })
    const evil = '<img src=x onerror=alert(1)>'
    const res = await app.inject({ method: 'GET', url: '/rubeus/contatos', headers: { authorization: 'Bearer feed-token-0123456789abcdef', 'x-forwarded-for': evil } })
    assert.equal(res.statusCode, 200)
    const page = (await get(app, '/console', AUTH)).body
    assert.ok(!page.includes(evil))
    assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt;'))
  })

  test('status.json is the report `status --json` prints, plus what only the running service knows', async (t) => {
    const { app, config } = await buildTestApp(t)
    await knownTraffic(app)
    const fromService = (await get(app, '/console/status.json', AUTH)).json()
    const res = await cli(['status', '--json'], { DATABASE_PATH: config.DATABASE_PATH, FEED_SETTLE_SECONDS: '0' })
    assert.equal(res.code, 0, res.stderr)
    const fromCommand = JSON.parse(res.stdout)
    assert.equal(fromCommand.service, null)
    for (const r of [fromService, fromCommand]) {
      delete r.generatedAt
      delete r.service
      r.verdict.reasons = r.verdict.reasons.filter((x: { code: string }) => x.code !== 'deliveries-rejected') // needs the service's memory
    }
    assert.deepEqual(fromService, fromCommand)
  })
})
