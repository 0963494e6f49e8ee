/** A real full disk: the service on a small tmpfs, as a process. It refuses what it cannot store, serves nothing twice, and recovers once space is freed. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { FEED_TOKEN, SECRET, applicationEvent, person, spawnBridge, startService } from './helper.js'
import { tmpfs } from './system-tools.js'

/** A 16 MiB tmpfs, unmounted after the test; undefined where this process may not mount one. */
const smallDisk = (t: TestContext) => tmpfs(t, 'size=16m')

/** Fills the disk but for `leave` bytes. */
function fill (dir: string, leave: number): string {
  const file = join(dir, 'filler')
  const { bavail, bsize } = statfsSync(dir)
  writeFileSync(file, Buffer.alloc(Math.max(0, bavail * bsize - leave)))
  return file
}

/** The service's settings: the database on the small disk, which is also its working folder. */
const serviceEnv = (dir: string) => ({
  DATABASE_PATH: join(dir, 'data', 'bridge.sqlite'), GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, FEED_SETTLE_SECONDS: '0', LOG_LEVEL: 'warn', RETENTION_DAYS: '30'
})

describe('a full disk, for real', () => {
  test('start-up on a full disk exits 1 with one JSON line saying so', async (t) => {
    const dir = smallDisk(t)
    if (dir === undefined) return t.skip('this process may not mount a tmpfs')
    fill(dir, 0)
    const service = spawnBridge(t, 'server', [], { cwd: dir, env: { ...serviceEnv(dir), HOST: '127.0.0.1', PORT: '0' } })
    assert.equal((await service.exited).code, 1)
    const output = service.stdout() + service.stderr()
    const lines = output.trim().split('\n')
    assert.equal(lines.length, 1, output)
    const line = JSON.parse(lines[0]!) as { msg: string, level: number }
    assert.equal(line.level, 60)
    assert.match(line.msg, /the disk holding the database is full/)
  })

  test('webhooks get 503 and readyz is not ready while full; afterwards everything acknowledged is served exactly once', async (t) => {
    const dir = smallDisk(t)
    if (dir === undefined) return t.skip('this process may not mount a tmpfs')
    mkdirSync(join(dir, 'data'))
    const service = await startService(t, serviceEnv(dir), { cwd: dir })
    const base = service.url
    const acknowledged = new Set<string>()
    const served: string[] = []
    let n = 0
    const post = async () => {
      n++
      const p = person(5000 + n)
      const body = applicationEvent(p, { id: `full-${n}`, event: 'application.created', date: new Date(Date.UTC(2025, 6, 1, 0, 0, n)), step: 'Cadastro' })
      const res = await request(`${base}/webhooks/gupy`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: JSON.stringify(body) })
      const text = await res.body.text()
      if (res.statusCode === 200) acknowledged.add(p.cpf)
      else assert.equal(res.statusCode, 503, text)
      return res
    }
    const pollOnce = async () => {
      const res = await request(`${base}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
      const text = await res.body.text()
      if (res.statusCode === 200) served.push(...(JSON.parse(text) as Array<{ codigo: string }>).map((c) => c.codigo))
      else {
        assert.equal(res.statusCode, 503, text)
        assert.ok(res.headers['retry-after'] !== undefined)
      }
      return res.statusCode
    }
    for (let i = 0; i < 50; i++) assert.equal((await post()).statusCode, 200)
    assert.equal(await pollOnce(), 200)

    const filler = fill(dir, 64 * 1024)
    let refused = 0
    for (let i = 0; i < 2000 && refused < 30; i++) {
      const res = await post()
      if (res.statusCode === 503) {
        refused++
        assert.ok(res.headers['retry-after'] !== undefined)
      }
      if (i % 50 === 0) await pollOnce()
    }
    assert.ok(refused >= 30, 'the full disk refuses deliveries')
    const ready = await request(`${base}/readyz`)
    assert.equal(ready.statusCode, 503, 'not ready while nothing can be written')
    await ready.body.dump()
    for (let i = 0; i < 5; i++) await pollOnce()

    rmSync(filler) // space freed
    for (let i = 0; i < 20; i++) assert.equal((await post()).statusCode, 200)
    const again = await request(`${base}/readyz`)
    assert.equal(again.statusCode, 200, await again.body.text())
    for (let i = 0; i < 50 && (await pollOnce()) === 200 && served.length < acknowledged.size; i++);
    assert.equal(new Set(served).size, served.length, 'no contact served twice')
    assert.deepEqual([...served].sort(), [...acknowledged].sort(), 'every acknowledged delivery served once')
    assert.match(service.stdout() + service.stderr(), /SQLITE_FULL|disk is full/, 'the log says why')
  })
})
