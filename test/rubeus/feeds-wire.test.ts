/** The feeds over real sockets: a response cut off mid-body is served again; concurrent polls never overlap. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { FEED_TOKEN, applicationEvent, buildTestApp, person, poll, postDelivery, tempDir, type TestApp } from '../helper.js'

async function listen ({ app }: TestApp): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  assert.ok(address !== null && typeof address === 'object')
  return address.port
}

async function fill (app: TestApp['app'], count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    const res = await postDelivery(app, applicationEvent(person(n), { id: `c-${n}`, event: 'application.created', date: new Date(Date.UTC(2025, 6, 1, 0, 0, n)), step: 'Cadastro' }))
    assert.equal(res.statusCode, 200)
  }
}

describe('feeds on the wire', () => {
  test('a response cut off before it was written out leaves the cursor: the same batch comes again', async (t) => {
    // Large records (about 12 KB each): a 1000-record batch cannot fit in the socket buffers (a few MB).
    const mappingFile = join(tempDir(t), 'mapping.json')
    const columns = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`coluna${i}`, 'data.job.name']))
    writeFileSync(mappingFile, JSON.stringify({ contact: { camposPersonalizados: columns } }))
    const test = await buildTestApp(t, { MAPPING_FILE: mappingFile })
    await fill(test.app, 1000)
    const longName = 'x'.repeat(200)
    test.app.store.db.prepare("UPDATE deliveries SET payload = replace(payload, 'VAGA TESTE INTEGRAÇÃO - Auxiliar de Produção', ?), state = 'received'").run(longName)
    test.app.store.db.prepare('DELETE FROM contacts').run()
    test.app.store.db.prepare('DELETE FROM outbox').run()
    const port = await listen(test)

    // A client that reads the status line, then hangs up without reading the body.
    const socket = connect(port, '127.0.0.1')
    socket.write(`GET /rubeus/contatos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${FEED_TOKEN}\r\n\r\n`)
    const head = await new Promise<string>((resolve) => socket.once('data', (chunk) => { socket.pause(); resolve(chunk.toString('latin1')) }))
    assert.match(head, /^HTTP\/1\.1 200/)
    await sleep(100)
    socket.destroy()
    const settled = test.app.store.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM feed_batches WHERE outcome != 'cut'")
    for (let i = 0; i < 500 && settled.get()!.n === 0; i++) await sleep(10)
    const first = test.app.store.db.prepare('SELECT id, outcome, count FROM feed_batches').all()
    assert.deepEqual(first, [{ id: 1, outcome: 'aborted', count: 1000 }])

    const again = await poll(test.app, 'contatos')
    const records = JSON.parse(again.body) as Array<{ codigo: string, camposPersonalizados: Record<string, string> }>
    assert.equal(records.length, 1000)
    assert.equal(records[0]!.camposPersonalizados.coluna0, longName)
    assert.ok(again.body.length > 10_000_000, `the batch is ${again.body.length} bytes`)
    assert.equal(again.headers['x-batch-id'], '2')
    assert.equal((await poll(test.app, 'contatos')).body, '[]')
  })

  test('concurrent polls of one feed are served one after another: no record twice, none skipped', async (t) => {
    const test = await buildTestApp(t)
    await fill(test.app, 2500)
    const port = await listen(test)
    const get = async () => {
      const res = await request(`http://127.0.0.1:${port}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
      assert.equal(res.statusCode, 200)
      return (await res.body.json()) as Array<{ codigo: string }>
    }
    const batches = await Promise.all(Array.from({ length: 5 }, get))
    assert.deepEqual(batches.map((b) => b.length).sort((a, b) => b - a), [1000, 1000, 500, 0, 0])
    const all = batches.flat().map((c) => c.codigo)
    assert.equal(new Set(all).size, 2500)
    assert.equal(all.length, 2500)
  })
})
