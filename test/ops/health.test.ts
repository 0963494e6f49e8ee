/** Health, readiness and metrics endpoints. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, delivery, postDelivery } from '../helper.js'

describe('operations endpoints', () => {
  test('GET /healthz answers ok', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject('/healthz')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { status: 'ok' })
  })

  test('GET /readyz is ready on a migrated database and 503 when the schema is not current', async (t) => {
    const { app } = await buildTestApp(t)
    assert.deepEqual((await app.inject('/readyz')).json(), { status: 'ready' })
    const version = app.store.db.pragma('user_version', { simple: true })
    app.store.db.pragma('user_version = 0')
    const res = await app.inject('/readyz')
    assert.equal(res.statusCode, 503)
    assert.deepEqual(res.json(), { status: 'unavailable', problems: [`schema version 0, expected ${version}`] })
  })

  test('GET /metrics counts deliveries by event and outcome, latencies and process metrics', async (t) => {
    const { app } = await buildTestApp(t)
    const first = delivery()
    await postDelivery(app, first)
    await postDelivery(app, first)
    await postDelivery(app, delivery({ event: 'application.moved' }))
    await postDelivery(app, delivery({ event: 'job.published' }))
    await postDelivery(app, delivery({ event: 'something.invented' }))
    await postDelivery(app, '{')
    const res = await app.inject('/metrics')
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/plain/)
    const text = res.body
    assert.match(text, /bridge_webhook_deliveries_total\{event="application.created",outcome="accepted"\} 1\n/)
    assert.match(text, /bridge_webhook_deliveries_total\{event="application.created",outcome="duplicate"\} 1\n/)
    assert.match(text, /bridge_webhook_deliveries_total\{event="application.moved",outcome="accepted"\} 1\n/)
    assert.match(text, /bridge_webhook_deliveries_total\{event="other",outcome="ignored"\} 2\n/)
    assert.match(text, /bridge_webhook_deliveries_total\{event="unknown",outcome="rejected"\} 1\n/)
    assert.match(text, /bridge_webhook_duration_seconds_count\{status="200"\} 5\n/)
    assert.match(text, /bridge_inbox_commit_seconds_count \d+/)
    assert.match(text, /process_resident_memory_bytes \d+/)
    assert.doesNotMatch(text, /something\.invented/)
  })
})
