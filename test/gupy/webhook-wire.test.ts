/** POST /webhooks/gupy over real sockets: what inject() cannot show about the wire. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { once } from 'node:events'
import { Agent, request } from 'undici'
import type { App } from '../../src/app.js'
import { SECRET, buildTestApp, delivery } from '../helper.js'

async function listen (app: App): Promise<{ port: number }> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  assert.ok(address !== null && typeof address === 'object')
  return { port: address.port }
}

/** Sends raw bytes (a `Connection: close` request) and returns the raw response text. */
async function raw (port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(text) // no half-close: the server closes once it has answered
  let response = ''
  for await (const chunk of socket) response += chunk.toString()
  return response
}

const rows = (app: App) => app.store.db.prepare('SELECT count(*) FROM deliveries').pluck().get() as number

describe('the webhook on the wire', () => {
  test('a request with no Content-Type header at all is parsed as JSON', async (t) => {
    const { app } = await buildTestApp(t)
    const { port } = await listen(app)
    const body = JSON.stringify(delivery())
    const response = await raw(port, [
      'POST /webhooks/gupy HTTP/1.1', 'Host: bridge', `Authorization: ${SECRET}`,
      `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body
    ].join('\r\n'))
    assert.match(response, /^HTTP\/1\.1 200 /)
    assert.match(response, /"status":"accepted"/)
    assert.doesNotMatch(response.toLowerCase(), /\r\ncontent-type: (?!application\/json)/)
  })

  test('a chunked body without Content-Length is read whole', async (t) => {
    const { app } = await buildTestApp(t)
    const { port } = await listen(app)
    const body = JSON.stringify(delivery())
    const half = Math.floor(body.length / 2)
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`
    const response = await raw(port, [
      'POST /webhooks/gupy HTTP/1.1', 'Host: bridge', `Authorization: Bearer ${SECRET}`,
      'Transfer-Encoding: chunked', 'Connection: close', '', chunk(body.slice(0, half)) + chunk(body.slice(half)) + '0\r\n\r\n'
    ].join('\r\n'))
    assert.match(response, /^HTTP\/1\.1 200 /)
  })

  test('a chunked body that grows past the limit is refused with 413', async (t) => {
    const { app } = await buildTestApp(t, { WEBHOOK_BODY_LIMIT_BYTES: '2048' })
    const { port } = await listen(app)
    const body = JSON.stringify(delivery({ padding: 'y'.repeat(4000) }))
    const response = await raw(port, [
      'POST /webhooks/gupy HTTP/1.1', 'Host: bridge', `Authorization: Bearer ${SECRET}`,
      'Transfer-Encoding: chunked', 'Connection: close', '', `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`
    ].join('\r\n'))
    assert.match(response, /^HTTP\/1\.1 413 /)
    assert.equal(rows(app), 0)
  })

  test('a request cut off mid-body stores nothing and the server keeps serving', async (t) => {
    const { app } = await buildTestApp(t)
    const { port } = await listen(app)
    const body = JSON.stringify(delivery())
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    socket.write(['POST /webhooks/gupy HTTP/1.1', 'Host: bridge', `Authorization: ${SECRET}`,
      `Content-Length: ${Buffer.byteLength(body)}`, '', body.slice(0, 100)].join('\r\n'))
    await new Promise((resolve) => setTimeout(resolve, 50))
    socket.destroy()
    const res = await request(`http://127.0.0.1:${port}/webhooks/gupy`, {
      method: 'POST', headers: { authorization: SECRET }, body: JSON.stringify(delivery())
    })
    assert.equal(res.statusCode, 200)
    await res.body.dump()
    assert.equal(rows(app), 1)
  })

  test('50 concurrent copies of one delivery: exactly one accepted, 49 duplicates, one row', async (t) => {
    const { app } = await buildTestApp(t)
    const { port } = await listen(app)
    const agent = new Agent({ connections: 50, keepAliveTimeout: 10, keepAliveMaxTimeout: 10 })
    t.after(() => agent.close())
    const body = JSON.stringify(delivery())
    const answers = await Promise.all(Array.from({ length: 50 }, async () => {
      const res = await request(`http://127.0.0.1:${port}/webhooks/gupy`, {
        method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${SECRET}` }, body
      })
      assert.equal(res.statusCode, 200)
      return ((await res.body.json()) as { status: string }).status
    }))
    assert.equal(answers.filter((s) => s === 'accepted').length, 1)
    assert.equal(answers.filter((s) => s === 'duplicate').length, 49)
    assert.equal(rows(app), 1)
  })

  test('concurrent unique deliveries over keep-alive are all stored, sharing transactions', async (t) => {
    const { app } = await buildTestApp(t)
    const { port } = await listen(app)
    const agent = new Agent({ connections: 16, keepAliveTimeout: 10, keepAliveMaxTimeout: 10 })
    t.after(() => agent.close())
    const ids = new Set<string>()
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 20; i++) {
        const body = delivery()
        const res = await request(`http://127.0.0.1:${port}/webhooks/gupy`, {
          method: 'POST', dispatcher: agent, headers: { authorization: SECRET }, body: JSON.stringify(body)
        })
        assert.deepEqual(await res.body.json(), { status: 'accepted', id: body.id })
        ids.add(body.id as string)
      }
    }))
    assert.equal(rows(app), 320)
    assert.equal(ids.size, 320)
    const metrics = await app.metrics.registry.getSingleMetricAsString('bridge_inbox_commit_size')
    const commits = Number(/bridge_inbox_commit_size_count (\d+)/.exec(metrics)?.[1])
    t.diagnostic(`320 deliveries in ${commits} transactions`)
    assert.ok(commits < 320, `group commit shares transactions (${commits} commits)`)
  })
})
