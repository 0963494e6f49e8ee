/** Property test: random and malformed bodies never get a 5xx and never stop the route from serving. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { buildTestApp, delivery, postDelivery } from '../helper.js'

const almostEnvelope = fc.record({
  id: fc.oneof({ arbitrary: fc.uuid(), weight: 6 }, fc.string(), fc.integer(), fc.constant(null), fc.constant(undefined), fc.object()),
  event: fc.oneof({ arbitrary: fc.constantFrom('application.created', 'application.moved', 'candidate.hired', ''), weight: 6 }, fc.string(), fc.constant(null)),
  date: fc.oneof({ arbitrary: fc.date({ min: new Date('2000-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), weight: 6 }, fc.string(), fc.integer(), fc.constant(null),
    fc.constantFrom('2025-13-01T00:00:00Z', '2025-07-01T25:00:00Z', '2025-07-01', '0000-00-00T00:00:00Z', '9999-12-31T23:59:59.999Z')),
  data: fc.anything()
}, { requiredKeys: ['id', 'event', 'date'] })

const bodies = fc.oneof(
  fc.string().map((s) => ({ text: s })),
  fc.json().map((s) => ({ text: s })),
  fc.anything().map((v) => ({ text: JSON.stringify(v) ?? 'undefined' })),
  { arbitrary: almostEnvelope.map((v) => ({ text: JSON.stringify(v) })), weight: 4 },
  almostEnvelope.map((v) => ({ text: JSON.stringify({ ...v, padding: 'z'.repeat(5000) }) })),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ text: Buffer.from(bytes).toString('latin1') }))
)

const contentTypes = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/json; charset=utf-8', 'multipart/form-data; boundary=x', 'application/xml')

test('hundreds of random bodies get 200, 400 or 413 — never a 5xx — and the route keeps serving', async (t) => {
  const { app } = await buildTestApp(t, { WEBHOOK_BODY_LIMIT_BYTES: '4096' })
  const seen = new Map<number, number>()
  await fc.assert(fc.asyncProperty(bodies, contentTypes, async ({ text }, type) => {
    const headers: Record<string, string> = { authorization: 'Bearer test-secret-0123456789abcdef' }
    if (type !== undefined) headers['content-type'] = type
    const res = await app.inject({ method: 'POST', url: '/webhooks/gupy', headers, payload: text })
    seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1)
    assert.ok([200, 400, 413].includes(res.statusCode), `status ${res.statusCode} for ${JSON.stringify(text).slice(0, 200)}`)
    assert.equal(typeof res.json(), 'object')
  }), { numRuns: 600 })
  t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(seen))}`)
  assert.ok((seen.get(400) ?? 0) > 100, 'many bodies are rejected')
  assert.ok((seen.get(200) ?? 0) > 20, 'some bodies are well-formed envelopes')
  assert.ok((seen.get(413) ?? 0) > 5, 'some bodies are too large')
  const after = await postDelivery(app, delivery())
  assert.equal(after.json().status, 'accepted')
})
