/**
 * A database file damaged on disk under the running app: the first request that meets the damage
 * turns the whole service not ready; webhooks and feeds answer 503, the verdict is a problem, and
 * nothing more is read from the file or written to it.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { CONSOLE_PASSWORD, buildTestApp, cli, damageOnDisk, delivery, poll, postDelivery, type TestApp } from '../helper.js'

const AUTH = `Basic ${Buffer.from(`operator:${CONSOLE_PASSWORD}`).toString('base64')}`

/** The database's files as they are on disk, to show that nothing more was written. */
function fingerprint (databasePath: string): string {
  const hash = createHash('sha256')
  for (const file of [databasePath, `${databasePath}-wal`]) if (existsSync(file)) hash.update(readFileSync(file))
  return hash.digest('hex')
}

/** 300 deliveries stored and mapped, then everything written into the database file itself. */
async function seededThenDamaged (t: Parameters<typeof buildTestApp>[0]): Promise<TestApp & { sent: Array<Record<string, unknown>> }> {
  const test = await buildTestApp(t)
  const sent: Array<Record<string, unknown>> = []
  for (let i = 0; i < 300; i++) {
    const body = delivery()
    sent.push(body)
    assert.equal((await postDelivery(test.app, body)).statusCode, 200)
  }
  test.app.mapper.catchUp()
  assert.deepEqual((await test.app.inject('/readyz')).json(), { status: 'ready' })
  test.app.store.db.pragma('wal_checkpoint(TRUNCATE)')
  // The connection's cache would still answer from the pages as they were before the damage.
  test.app.store.db.pragma('shrink_memory')
  damageOnDisk(test.config.DATABASE_PATH)
  return { ...test, sent }
}

async function assertDamagedEverywhere ({ app, config }: TestApp): Promise<void> {
  const ready = await app.inject('/readyz')
  assert.equal(ready.statusCode, 503)
  assert.match(ready.json().problems.join(' '), /the database file is damaged \(SQLITE_CORRUPT\).*restore a backup/)

  const before = fingerprint(config.DATABASE_PATH)
  const webhook = await postDelivery(app, delivery())
  assert.equal(webhook.statusCode, 503, webhook.body)
  assert.equal(webhook.headers['retry-after'], '30')
  assert.match(webhook.json().message, /the database file is damaged/)
  for (const feed of ['contatos', 'candidatura']) {
    const res = await poll(app, feed)
    assert.equal(res.statusCode, 503, res.body)
    assert.ok(res.headers['retry-after'] !== undefined)
  }
  assert.equal(fingerprint(config.DATABASE_PATH), before, 'nothing was written to the damaged file')

  const report = (await app.inject({ url: '/console/status.json', headers: { authorization: AUTH } })).json()
  assert.equal(report.damaged, 'SQLITE_CORRUPT')
  assert.equal(report.verdict.status, 'problem')
  assert.deepEqual(report.verdict.reasons.map((r: { code: string }) => r.code), ['database-damaged'])
  const page = await app.inject({ url: '/console', headers: { authorization: AUTH } })
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /data-status="problem"/)
  assert.match(page.body, /<li data-code="database-damaged">.*danificado.*gupy-rubeus-bridge restore/s)
}

describe('a database file damaged while the service runs', () => {
  test('met by a feed poll: that poll gets 503, then /readyz is not ready, webhooks and feeds answer 503, the verdict is a problem, and nothing is written', async (t) => {
    const test = await seededThenDamaged(t)
    const first = await poll(test.app, 'contatos')
    assert.equal(first.statusCode, 503, first.body)
    assert.match(first.json().message, /SQLITE_CORRUPT/)
    await assertDamagedEverywhere(test)
  })

  test('met by a webhook (Gupy retrying a stored delivery): 503, and the same everywhere after it', async (t) => {
    const test = await seededThenDamaged(t)
    const retry = await postDelivery(test.app, test.sent[150])
    assert.equal(retry.statusCode, 503, retry.body)
    assert.equal(retry.headers['retry-after'], '30')
    await assertDamagedEverywhere(test)
  })

  test('a full disk heals after the next successful write; damage does not', async (t) => {
    const test = await seededThenDamaged(t)
    const { writes } = test.app.store
    writes.report(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))
    assert.equal(writes.failure, 'SQLITE_FULL')
    writes.report()
    assert.equal(writes.failure, undefined)
    assert.equal((await poll(test.app, 'contatos')).statusCode, 503)
    writes.report() // a later success says nothing about the damaged pages
    assert.equal(writes.damaged, 'SQLITE_CORRUPT')
    assert.equal((await test.app.inject('/readyz')).statusCode, 503)
  })

  test('`status` on the damaged file says so and exits 1', async (t) => {
    const test = await seededThenDamaged(t)
    const res = await cli(['status'], { DATABASE_PATH: test.config.DATABASE_PATH, GUPY_WEBHOOK_SECRETS: test.config.GUPY_WEBHOOK_SECRETS.join(',') })
    assert.equal(res.code, 1, res.stderr)
    assert.match(res.stdout, /^verdict: problem\n {2}problem {1}the database file is damaged \(SQLITE_CORRUPT\)/, res.stderr)
  })
})
