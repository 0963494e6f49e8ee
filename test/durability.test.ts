/** Crash test: a server killed with SIGKILL under load loses no delivery it answered 200. */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { Database } from '../src/store/sqlite.js'
import { FEED_TOKEN, SECRET, delivery, startService, tempDir } from './helper.js'

async function startServer (t: TestContext, databasePath: string) {
  const service = await startService(t, { DATABASE_PATH: databasePath, GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, LOG_LEVEL: 'warn' })
  return { ...service, url: `${service.url}/webhooks/gupy` }
}

async function post (url: string, dispatcher: Agent, body: string): Promise<{ status: number, outcome?: string }> {
  const res = await request(url, { method: 'POST', dispatcher, headers: { authorization: `Bearer ${SECRET}` }, body, headersTimeout: 10_000, bodyTimeout: 10_000 })
  const json = await res.body.json() as { status?: string }
  return { status: res.statusCode, outcome: json.status }
}

test('after SIGKILL under load, every delivery answered 200 is stored, and re-sending it is a duplicate', async (t) => {
  const databasePath = join(tempDir(t), 'bridge.sqlite')
  const agent = new Agent({ connections: 24, keepAliveTimeout: 10, keepAliveMaxTimeout: 10 })
  t.after(() => agent.close())

  const { child, url, exited } = await startServer(t, databasePath)
  const acknowledged = new Map<string, string>()
  const failed: string[] = []
  let killed = false

  await Promise.all(Array.from({ length: 24 }, async () => {
    while (!killed) {
      const body = delivery()
      const text = JSON.stringify(body)
      try {
        const res = await post(url, agent, text)
        if (res.status === 200 && res.outcome === 'accepted') acknowledged.set(body.id as string, text)
        else failed.push(text)
      } catch {
        failed.push(text) // cut off by the kill: may or may not have been stored
      }
      if (acknowledged.size >= 400 && !killed) {
        killed = true
        child.kill('SIGKILL') // while the other senders' requests are in flight
      }
    }
  }))
  await exited
  t.diagnostic(`${acknowledged.size} acknowledged before SIGKILL, ${failed.length} cut off`)
  assert.ok(acknowledged.size >= 400)

  const db = new Database(databasePath, { readonly: true })
  const has = db.prepare('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
  const missing = [...acknowledged.keys()].filter((id) => has.get(id) === undefined)
  db.close()
  assert.deepEqual(missing, [], 'no acknowledged delivery is lost')

  const restarted = await startServer(t, databasePath)
  for (const text of acknowledged.values()) {
    assert.deepEqual(await post(restarted.url, agent, text), { status: 200, outcome: 'duplicate' })
  }
  for (const text of failed) {
    const res = await post(restarted.url, agent, text)
    assert.equal(res.status, 200)
    assert.ok(res.outcome === 'accepted' || res.outcome === 'duplicate')
  }
})

test('SIGTERM under load: in-flight deliveries are answered and stored, the database closes cleanly, exit code 0', async (t) => {
  const databasePath = join(tempDir(t), 'bridge.sqlite')
  const agent = new Agent({ connections: 16, keepAliveTimeout: 10, keepAliveMaxTimeout: 10 })
  t.after(() => agent.close())
  const { child, url, exited } = await startServer(t, databasePath)

  const acknowledged: string[] = []
  let stopping = false
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (!stopping) {
      const body = delivery()
      try {
        const res = await post(url, agent, JSON.stringify(body))
        if (res.status === 200) acknowledged.push(body.id as string)
        else assert.equal(res.status, 503, 'late requests are refused with 503, never lost')
      } catch {
        break // the server has closed the connection
      }
      if (acknowledged.length >= 200 && !stopping) {
        stopping = true
        child.kill('SIGTERM')
      }
    }
  }))
  const { code } = await exited
  assert.equal(code, 0)
  assert.ok(!existsSync(`${databasePath}-wal`), 'a clean close checkpoints and removes the WAL')

  const db = new Database(databasePath, { readonly: true })
  const has = db.prepare('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
  assert.deepEqual(acknowledged.filter((id) => has.get(id) === undefined), [])
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok')
  db.close()
})
