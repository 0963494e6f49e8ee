/** Guessing a password is slowed: after 10 failures in a minute an address waits; every failure is counted. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { FAILED_LOGINS_ALLOWED, FAILED_LOGINS_WINDOW_MS, failedLogins } from '../src/credentials.js'
import { CONSOLE_PASSWORD, FEED_TOKEN, SECRET, buildTestApp, delivery } from './helper.js'

const basic = (password: string) => `Basic ${Buffer.from(`operator:${password}`).toString('base64')}`
const GUESSER = '203.0.113.7'
const OTHER = '198.51.100.20'

async function failures (app: Awaited<ReturnType<typeof buildTestApp>>['app'], route: string): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  return Number(new RegExp(`^bridge_auth_failures_total\\{route="${route}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

describe('failed logins', () => {
  for (const [route, url, wrong, right] of [
    ['console', '/console/status.json', basic('wrong-password-0123456789'), basic(CONSOLE_PASSWORD)],
    ['feeds', '/rubeus/contatos?after=0', 'Bearer wrong-token-0123456789', `Bearer ${FEED_TOKEN}`]
  ] as const) {
    test(`${route}: 30 wrong attempts from one address → 10 × 401, then 429 with Retry-After, even with the right credentials; other addresses unaffected`, async (t) => {
      const { app } = await buildTestApp(t)
      const statuses: number[] = []
      let retryAfter: string | string[] | undefined
      for (let i = 0; i < 30; i++) {
        const res = await app.inject({ method: 'GET', url, remoteAddress: GUESSER, headers: { authorization: wrong } })
        statuses.push(res.statusCode)
        if (res.statusCode === 429) retryAfter = res.headers['retry-after']
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), ...Array(20).fill(429)])
      assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= 60, `Retry-After ${String(retryAfter)}`)
      const blocked = await app.inject({ method: 'GET', url, remoteAddress: GUESSER, headers: { authorization: right } })
      assert.equal(blocked.statusCode, 429, 'the right password does not help the guessing address within the minute')
      assert.equal(blocked.json().code, 'BRIDGE_ERR_TOO_MANY_FAILED_LOGINS')
      const other = await app.inject({ method: 'GET', url, remoteAddress: OTHER, headers: { authorization: right } })
      assert.equal(other.statusCode, 200, 'another address is not slowed')
      assert.equal(await failures(app, route), 10, 'each refused credential counted once (the 429s are not guesses checked)')
    })
  }

  test('Gupy\'s webhook route is never slowed: wrong secrets are refused and counted, the right one still works', async (t) => {
    const { app } = await buildTestApp(t)
    const post = (secret: string) => app.inject({ method: 'POST', url: '/webhooks/gupy', remoteAddress: GUESSER, headers: { authorization: `Bearer ${secret}` }, payload: JSON.stringify(delivery()) })
    for (let i = 0; i < 30; i++) assert.equal((await post('wrong-secret-0123456789')).statusCode, 401)
    assert.equal((await post(SECRET)).statusCode, 200)
    assert.equal(await failures(app, 'webhook'), 30)
  })

  test('the wait ends with the minute that began at the first failure; a crowd of other addresses does not make it forget the newest', () => {
    let now = 1_000_000
    const logins = failedLogins(() => now)
    for (let i = 0; i < FAILED_LOGINS_ALLOWED - 1; i++) logins.failed(GUESSER)
    assert.equal(logins.waitMs(GUESSER), 0, 'nine failures: may still try')
    logins.failed(GUESSER)
    assert.equal(logins.waitMs(GUESSER), FAILED_LOGINS_WINDOW_MS)
    now += FAILED_LOGINS_WINDOW_MS - 1
    assert.equal(logins.waitMs(GUESSER), 1)
    now += 1
    assert.equal(logins.waitMs(GUESSER), 0, 'a new minute, a new window')
    logins.failed(GUESSER)
    assert.equal(logins.waitMs(GUESSER), 0, 'the count started again')
    for (let i = 0; i < 20_000; i++) logins.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)
    for (let i = 0; i < FAILED_LOGINS_ALLOWED; i++) logins.failed('10.9.9.9')
    assert.ok(logins.waitMs('10.9.9.9') > 0, 'the newest addresses are remembered')
  })
})
