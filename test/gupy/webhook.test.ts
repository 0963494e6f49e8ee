/** POST /webhooks/gupy through inject(): every answer the contract names, and what each one stores. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../../src/store/sqlite.js'
import { OTHER_SECRET, SECRET, buildTestApp, delivery, fixture, postDelivery } from '../helper.js'

const countRows = (app: { store: { db: Database } }) =>
  app.store.db.prepare('SELECT count(*) FROM deliveries').pluck().get()

describe('POST /webhooks/gupy', () => {
  test('stores a new application event with its raw body and answers accepted', async (t) => {
    const { app } = await buildTestApp(t)
    const body = fixture('gupy/application.created.reconstructed.json')
    const res = await postDelivery(app, body)
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { status: 'accepted', id: '0b6f8f2e-3c1d-4a8e-9f57-2d1c6b7a9e01' })
    const row = app.store.db.prepare('SELECT * FROM deliveries').get() as Record<string, unknown>
    assert.equal(row.event, 'application.created')
    assert.equal(row.event_date, Date.parse('2025-07-01T12:00:00.000Z'))
    assert.equal(row.state, 'received')
    assert.equal(row.payload, body)
  })

  test('stores the body as text, byte for byte, whatever characters it holds', async (t) => {
    const { app } = await buildTestApp(t)
    const body = JSON.stringify(delivery({ note: 'João Conceição, São Paulo — 日本 😀' }), null, 2)
    assert.equal((await postDelivery(app, body)).json().status, 'accepted')
    const row = app.store.db.prepare('SELECT typeof(payload) AS type, length(CAST(payload AS BLOB)) AS bytes, payload FROM deliveries').get()
    assert.deepEqual(row, { type: 'text', bytes: Buffer.byteLength(body), payload: body })
  })

  test('answers duplicate for an id seen before and changes nothing', async (t) => {
    const { app } = await buildTestApp(t)
    const first = delivery()
    await postDelivery(app, first)
    app.mapper.catchUp() // mapping follows ingest: let it finish, then compare
    const before = app.store.db.prepare('SELECT * FROM deliveries').all()
    const res = await postDelivery(app, { ...first, date: '2026-01-01T00:00:00.000Z', event: 'application.moved' })
    assert.deepEqual(res.json(), { status: 'duplicate', id: first.id })
    assert.deepEqual(app.store.db.prepare('SELECT * FROM deliveries').all(), before)
  })

  test('acknowledges other event types as ignored, keeping the id but not the data', async (t) => {
    const { app } = await buildTestApp(t)
    const body = fixture('gupy/candidate.hired.gupy-docs-webhooks-reference.example.reconstructed.json')
    const res = await postDelivery(app, body)
    assert.equal(res.json().status, 'ignored')
    const row = app.store.db.prepare('SELECT event, state, payload FROM deliveries').get()
    assert.deepEqual(row, { event: 'candidate.hired', state: 'ignored', payload: null })
    assert.equal((await postDelivery(app, body)).json().status, 'duplicate')
  })

  test('accepts envelopes with unknown keys, nulls and empty strings in data', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await postDelivery(app, delivery({
      extra: { nested: [1, null] },
      user: null,
      data: { job: null, application: { id: null }, candidate: { name: '', email: null } }
    }))
    assert.equal(res.json().status, 'accepted')
    const bare = await postDelivery(app, { id: 'bare-1', event: 'application.moved', date: '2025-07-01T12:00:00Z' })
    assert.equal(bare.json().status, 'accepted')
  })

  test('a body that starts with a byte-order mark is stored without it and maps like any other', async (t) => {
    const { app } = await buildTestApp(t)
    const body = JSON.stringify(delivery())
    const res = await postDelivery(app, '\uFEFF' + body)
    assert.equal(res.json().status, 'accepted')
    assert.equal(app.store.db.prepare('SELECT payload FROM deliveries').pluck().get(), body)
    app.mapper.catchUp()
    const row = app.store.db.prepare('SELECT state, error FROM deliveries').get()
    assert.deepEqual(row, { state: 'mapped', error: null })
  })

  describe('reads the body as JSON whatever the Content-Type says', () => {
    for (const type of ['application/json', 'application/json;charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      test(`Content-Type: ${type}`, async (t) => {
        const { app } = await buildTestApp(t)
        const res = await postDelivery(app, delivery(), { 'content-type': type })
        assert.equal(res.statusCode, 200)
        assert.equal(res.json().status, 'accepted')
      })
    }
  })

  describe('answers 400 with a message saying what is wrong, storing nothing', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['not JSON', 'id=1&event=x', /body is not valid JSON/],
      ['an empty body', '', /body is empty/],
      ['a JSON array', '[]', /body must be a JSON object/],
      ['a JSON string', '"hello"', /body must be a JSON object/],
      ['JSON null', 'null', /body must be a JSON object/],
      ['a missing id', JSON.stringify({ event: 'application.created', date: '2025-07-01T12:00:00Z' }), /^id is required$/],
      ['a numeric id', JSON.stringify({ id: 7, event: 'application.created', date: '2025-07-01T12:00:00Z' }), /^id must be a string$/],
      ['an empty id', JSON.stringify({ id: '  ', event: 'application.created', date: '2025-07-01T12:00:00Z' }), /^id must not be empty$/],
      ['a missing event', JSON.stringify({ id: 'a', date: '2025-07-01T12:00:00Z' }), /^event is required$/],
      ['a null date', JSON.stringify({ id: 'a', event: 'application.created', date: null }), /^date is required$/],
      ['an unparseable date', JSON.stringify({ id: 'a', event: 'application.created', date: 'yesterday' }), /^date must be an ISO-8601 date-time/],
      ['an impossible date', JSON.stringify({ id: 'a', event: 'application.created', date: '2025-02-30T10:00:00Z' }), /^date must be an ISO-8601/]
    ]
    for (const [name, body, message] of cases) {
      test(name, async (t) => {
        const { app } = await buildTestApp(t)
        const res = await postDelivery(app, body)
        assert.equal(res.statusCode, 400)
        assert.match(res.json().message, message)
        assert.equal(res.json().statusCode, 400)
        assert.equal(countRows(app), 0)
      })
    }

    test('several problems are reported together', async (t) => {
      const { app } = await buildTestApp(t)
      const res = await postDelivery(app, { id: 1, date: 'never' })
      assert.equal(res.json().message, 'id must be a string; event is required; date must be an ISO-8601 date-time such as 2025-07-03T13:22:51.239Z')
    })
  })

  describe('authentication', () => {
    test('accepts "Bearer <secret>", a bare secret, any case of Bearer and every configured secret', async (t) => {
      const { app } = await buildTestApp(t)
      for (const authorization of [`Bearer ${SECRET}`, SECRET, `bearer ${OTHER_SECRET}`, `  BEARER   ${SECRET} `, OTHER_SECRET]) {
        const res = await postDelivery(app, delivery(), { authorization })
        assert.equal(res.statusCode, 200, authorization)
      }
      assert.equal(countRows(app), 5)
    })

    test('answers 401 with WWW-Authenticate and stores nothing when the secret is missing or wrong', async (t) => {
      const { app } = await buildTestApp(t)
      const attempts: Array<Record<string, string>> = [
        {},
        { authorization: '' },
        { authorization: 'Bearer' },
        { authorization: 'Bearer wrong-secret-0123456789' },
        { authorization: `Basic ${Buffer.from(`gupy:${SECRET}`).toString('base64')}` },
        { authorization: `${SECRET}x` },
        { authorization: SECRET.slice(0, -1) }
      ]
      for (const headers of attempts) {
        const res = await app.inject({ method: 'POST', url: '/webhooks/gupy', headers, payload: JSON.stringify(delivery()) })
        assert.equal(res.statusCode, 401, JSON.stringify(headers))
        assert.equal(res.json().code, 'BRIDGE_ERR_UNAUTHORIZED')
        assert.match(String(res.headers['www-authenticate']), /^Bearer /)
      }
      assert.equal(countRows(app), 0)
    })

    test('GUPY_ALLOWED_IPS admits listed addresses and ranges and refuses others with 403', async (t) => {
      const { app } = await buildTestApp(t, { GUPY_ALLOWED_IPS: '3.225.75.195,10.1.0.0/16' })
      const post = (remoteAddress: string) => app.inject({
        method: 'POST', url: '/webhooks/gupy', remoteAddress, headers: { authorization: SECRET }, payload: JSON.stringify(delivery())
      })
      assert.equal((await post('3.225.75.195')).statusCode, 200)
      assert.equal((await post('10.1.200.7')).statusCode, 200)
      assert.equal((await post('::ffff:10.1.0.1')).statusCode, 200)
      const refused = await post('10.2.0.1')
      assert.equal(refused.statusCode, 403)
      assert.equal(refused.json().code, 'BRIDGE_ERR_FORBIDDEN_ADDRESS')
      assert.equal(countRows(app), 3)
    })

    test('X-Forwarded-For is honoured only with TRUST_PROXY', async (t) => {
      const headers = { authorization: SECRET, 'x-forwarded-for': '3.225.75.195' }
      const trusting = await buildTestApp(t, { GUPY_ALLOWED_IPS: '3.225.75.195', TRUST_PROXY: '127.0.0.1' })
      const viaProxy = await trusting.app.inject({ method: 'POST', url: '/webhooks/gupy', remoteAddress: '127.0.0.1', headers, payload: JSON.stringify(delivery()) })
      assert.equal(viaProxy.statusCode, 200)
      const notTrusting = await buildTestApp(t, { GUPY_ALLOWED_IPS: '3.225.75.195' })
      const spoofed = await notTrusting.app.inject({ method: 'POST', url: '/webhooks/gupy', remoteAddress: '127.0.0.1', headers, payload: JSON.stringify(delivery()) })
      assert.equal(spoofed.statusCode, 403)
    })
  })

  test('answers 413 for a body over WEBHOOK_BODY_LIMIT_BYTES and stores nothing', async (t) => {
    const { app } = await buildTestApp(t, { WEBHOOK_BODY_LIMIT_BYTES: '4096' })
    const big = delivery({ padding: 'x'.repeat(5000) })
    const res = await postDelivery(app, big)
    assert.equal(res.statusCode, 413)
    assert.equal(res.json().code, 'FST_ERR_CTP_BODY_TOO_LARGE')
    assert.equal(countRows(app), 0)
    assert.equal((await postDelivery(app, delivery())).statusCode, 200)
  })

  test('answers 503 with Retry-After when the database stays locked, then stores the retry', async (t) => {
    const { app, config } = await buildTestApp(t)
    const locker = new Database(config.DATABASE_PATH)
    t.after(() => locker.close())
    locker.exec('BEGIN IMMEDIATE')
    const body = delivery()
    const res = await postDelivery(app, body)
    assert.equal(res.statusCode, 503)
    assert.equal(res.headers['retry-after'], '30')
    assert.equal(res.json().code, 'BRIDGE_ERR_STORE_UNAVAILABLE')
    locker.exec('ROLLBACK')
    assert.equal(countRows(app), 0)
    const retry = await postDelivery(app, body)
    assert.equal(retry.json().status, 'accepted')
  })

  test('never answers 410, even for an unknown path', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject({ method: 'POST', url: '/webhooks/gupy/extra', headers: { authorization: SECRET }, payload: '{}' })
    assert.equal(res.statusCode, 404)
  })
})
