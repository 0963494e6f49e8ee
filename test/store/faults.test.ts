/** Faults: a write lock held by another connection, and a disk that fills up. Nothing stalls, nothing acknowledged is lost, nothing is served twice. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/store/database.js'
import { Database } from '../../src/store/sqlite.js'
import { applicationEvent, buildTestApp, person, poll, postDelivery, tempDir, testConfig } from '../helper.js'

let n = 0
const next = () => {
  n++
  return applicationEvent(person(n), { id: `fault-${n}`, event: 'application.created', date: new Date(Date.UTC(2025, 6, 1, 0, 0, n)), step: 'Cadastro' })
}
const ids = (body: string) => (JSON.parse(body) as Array<{ codigo: string }>).map((c) => c.codigo)

describe('a write lock held by another connection', () => {
  test('every delivery gets 200 after a real commit or 503 with Retry-After, within about a second; health answers meanwhile', async (t) => {
    const { app, config } = await buildTestApp(t)
    const locker = new Database(config.DATABASE_PATH)
    t.after(() => { if (locker.inTransaction) locker.exec('ROLLBACK'); locker.close() })
    locker.exec('BEGIN IMMEDIATE')
    const releaseAt = Date.now() + 4000
    setTimeout(() => locker.exec('ROLLBACK'), 4000)

    const answers: Array<{ id: string, status: number, retryAfter?: string, ms: number }> = []
    const healthMs: number[] = []
    const poster = async () => {
      while (Date.now() < releaseAt + 1000) {
        const body = next()
        const started = Date.now()
        const res = await postDelivery(app, body)
        answers.push({ id: body.id as string, status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined, ms: Date.now() - started })
      }
    }
    const prober = async () => {
      while (Date.now() < releaseAt) {
        const started = Date.now()
        assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
        healthMs.push(Date.now() - started)
        await sleep(100)
      }
    }
    await Promise.all([...Array.from({ length: 10 }, poster), prober()])

    const refused = answers.filter((a) => a.status === 503)
    const stored = answers.filter((a) => a.status === 200)
    t.diagnostic(`${answers.length} answers: ${stored.length} 200, ${refused.length} 503; slowest ${Math.max(...answers.map((a) => a.ms))} ms; slowest /healthz ${Math.max(...healthMs)} ms`)
    assert.ok(refused.length > 0, 'the lock made some deliveries wait past the bound')
    assert.ok(stored.length > 0, 'deliveries are stored again once the lock is released')
    assert.deepEqual(answers.filter((a) => a.status !== 200 && a.status !== 503), [])
    assert.ok(refused.every((a) => a.retryAfter !== undefined), 'every 503 says when to retry')
    // The lock is held 4 s: an answer that waited for it would take that long.
    assert.ok(answers.every((a) => a.ms < 2500), 'no answer waited for the lock to be released')
    assert.ok(healthMs.every((ms) => ms < 2500), '/healthz is answered while the database is locked')
    const has = app.store.db.prepare('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
    assert.deepEqual(stored.filter((a) => has.get(a.id) === undefined), [], 'every 200 is in the database')
    assert.deepEqual(refused.filter((a) => has.get(a.id) !== undefined), [], 'no 503 was stored')
  })

  test('the service starts while a command holds the lock, and serves once it is released', async (t) => {
    const config = testConfig(tempDir(t))
    openDatabase(config.DATABASE_PATH).close() // an existing database
    const locker = new Database(config.DATABASE_PATH)
    t.after(() => locker.close())
    locker.exec('BEGIN IMMEDIATE')
    let ready = false
    const starting = buildApp({ config }).then(async (app) => {
      t.after(() => app.close())
      await app.ready()
      ready = true
      return app
    })
    await sleep(1500)
    assert.equal(ready, false, 'start-up waits for the lock')
    locker.exec('ROLLBACK')
    const app = await starting
    assert.equal((await postDelivery(app, next())).json().status, 'accepted')
  })
})

describe('a full disk', () => {
  test('webhooks get 503, readyz is not ready; once space is freed everything acknowledged is served exactly once', async (t) => {
    const { app } = await buildTestApp(t)
    const acknowledged: string[] = []
    const post = async () => {
      const body = next()
      const res = await postDelivery(app, body)
      if (res.statusCode === 200) acknowledged.push((body.data as { candidate: { identificationDocument: string } }).candidate.identificationDocument)
      return res
    }
    for (let i = 0; i < 5; i++) assert.equal((await post()).statusCode, 200)
    const served = ids((await poll(app, 'contatos')).body)
    assert.equal(served.length, 5)

    // The database may not grow any more: what needs a new page fails with SQLITE_FULL.
    const db = app.store.db
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`)
    const refused: number[] = []
    for (let i = 0; i < 200 && refused.length < 20; i++) {
      const res = await post()
      if (res.statusCode === 503) {
        assert.ok(res.headers['retry-after'] !== undefined)
        assert.equal(res.json().code, 'BRIDGE_ERR_STORE_UNAVAILABLE')
        refused.push(i)
      } else assert.equal(res.statusCode, 200)
    }
    assert.ok(refused.length >= 20, 'the full database refuses deliveries')
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    assert.equal(ready.statusCode, 503)
    assert.match(ready.body, /cannot be written \(SQLITE_FULL\)/)
    for (let i = 0; i < 5; i++) {
      const res = await poll(app, 'contatos')
      assert.ok(res.statusCode === 200 || res.statusCode === 503, `a poll answers 200 or 503, not ${res.statusCode}`)
      if (res.statusCode === 503) assert.ok(res.headers['retry-after'] !== undefined)
      else served.push(...ids(res.body))
    }

    db.pragma('max_page_count = 4294967294') // space freed
    assert.equal((await post()).statusCode, 200)
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
    for (let res = await poll(app, 'contatos'); res.body !== '[]'; res = await poll(app, 'contatos')) {
      assert.equal(res.statusCode, 200)
      served.push(...ids(res.body))
    }
    assert.equal(new Set(served).size, served.length, 'no contact served twice')
    assert.deepEqual([...served].sort(), [...acknowledged].sort(), 'every acknowledged delivery served once')
  })

  test('a batch whose outcome cannot be written is never served again: the feed answers 503 until it is recorded', async (t) => {
    const { app } = await buildTestApp(t, { FEED_BATCH_SIZE: '2' })
    for (let i = 0; i < 6; i++) assert.equal((await postDelivery(app, next())).statusCode, 200)
    // A fault in exactly that write, as a full disk would make it.
    app.store.db.exec(`CREATE TEMP TRIGGER fail_served BEFORE UPDATE OF outcome ON feed_batches WHEN NEW.outcome = 'served'
      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
    const first = await poll(app, 'contatos')
    assert.equal(first.statusCode, 200)
    assert.equal(ids(first.body).length, 2, 'Rubeus received the batch')
    for (let i = 0; i < 3; i++) {
      const again = await poll(app, 'contatos')
      assert.equal(again.statusCode, 503, 'the same records are not served again')
      assert.ok(again.headers['retry-after'] !== undefined)
      assert.doesNotMatch(again.body, /codigo/)
    }
    app.store.db.exec('DROP TRIGGER fail_served')
    const second = await poll(app, 'contatos')
    assert.equal(second.statusCode, 200)
    const third = await poll(app, 'contatos')
    const all = [...ids(first.body), ...ids(second.body), ...ids(third.body)]
    assert.equal(all.length, 6)
    assert.equal(new Set(all).size, 6, 'each record once')
  })
})
