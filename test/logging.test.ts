/** Logs: one JSON line per request with an id, and no secret or personal data anywhere in them. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../src/store/sqlite.js'
import { FEED_TOKEN, OTHER_SECRET, SECRET, buildTestApp, fixture, logSink, poll, postDelivery } from './helper.js'

test('a full flow, webhooks to feeds, logs one line per request and never a secret, token, CPF, e-mail, phone or name', async (t) => {
  const sink = logSink()
  const { app, config } = await buildTestApp(t, {}, sink.stream)
  const body = fixture('gupy/application.created.reconstructed.json')
  const candidate = JSON.parse(body).data.candidate

  const answers = [
    await postDelivery(app, body), // accepted
    await postDelivery(app, body, { authorization: OTHER_SECRET }), // duplicate
    await postDelivery(app, body.replace('"id": "0b6f', '"id": "1b6f').replace('"event": "application.created"', '"event": "candidate.hired"')),
    await postDelivery(app, `not json ${candidate.email} ${candidate.identificationDocument}`), // 400
    await postDelivery(app, body, { authorization: `Bearer ${SECRET}-wrong` }), // 401
    await postDelivery(app, body.replace('"id": "0b6f', '"id": "2b6f'), { 'content-type': 'text/plain' })
  ]
  assert.deepEqual(answers.map((r) => r.statusCode), [200, 200, 200, 400, 401, 200])

  const locker = new Database(config.DATABASE_PATH)
  locker.exec('BEGIN IMMEDIATE')
  const unavailable = await postDelivery(app, body.replace('"id": "0b6f', '"id": "3b6f'))
  locker.exec('ROLLBACK')
  locker.close()
  assert.equal(unavailable.statusCode, 503)
  await app.inject({ method: 'GET', url: '/metrics' })
  const contacts = await poll(app, 'contatos')
  assert.equal(JSON.parse(contacts.body).length, 1, 'both application.created deliveries are one candidate')
  assert.equal(JSON.parse((await poll(app, 'candidatura')).body).length, 2)
  assert.equal((await poll(app, 'contatos', '', 'wrong-token-0123456789')).statusCode, 401)

  const lines = sink.lines.map((l) => JSON.parse(l))
  const requests = lines.filter((l) => l.msg === 'request')
  assert.equal(requests.length, 11, 'one line per request')
  assert.equal(new Set(requests.map((l) => l.reqId)).size, 11, 'each with its own request id')
  assert.deepEqual(requests.slice(8).map((l) => [l.feed, l.records, l.status]), [['contatos', 1, 200], ['candidatura', 2, 200], [undefined, undefined, 401]])
  const batches = lines.filter((l) => l.msg === 'feed batch')
  assert.deepEqual(batches.map((l) => [l.feed, l.count, l.outcome]), [['contatos', 1, 'served'], ['candidatura', 2, 'served']])
  assert.deepEqual(requests.slice(0, 3).map((l) => l.outcome), ['accepted', 'duplicate', 'ignored'])
  assert.equal(requests[3].code, 'FST_ERR_CTP_INVALID_JSON_BODY')
  assert.equal(requests[4].status, 401)
  assert.ok(lines.some((l) => l.msg === 'delivery not stored' && l.level === 50), 'a failed commit is logged as an error')

  const text = sink.text()
  const forbidden = [
    SECRET, OTHER_SECRET, FEED_TOKEN, '55(11)', 'Doe',
    candidate.identificationDocument, candidate.email, candidate.name, candidate.lastName,
    candidate.mobileNumber, candidate.phoneNumber, candidate.mobileNumber.slice(3), candidate.addressStreet
  ]
  for (const value of forbidden) assert.ok(!text.includes(value), `the logs contain ${value.length} characters of sensitive data`)
})
