/** Operator commands as real processes beside a service process that takes steady webhook traffic. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { Database } from '../../src/store/sqlite.js'
import { FEED_TOKEN, SECRET, applicationEvent, cli, person, startService, tempDir } from '../helper.js'

test('erase, backup and reprocess --all exit 0 beside steady traffic; the erased person is in no file; the backup holds what was acknowledged', async (t) => {
  const dir = tempDir(t)
  const env = { DATABASE_PATH: join(dir, 'bridge.sqlite'), GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, FEED_SETTLE_SECONDS: '0' }
  const { url: base } = await startService(t, { ...env, LOG_LEVEL: 'warn' }, { output: 'stderr' })
  const agent = new Agent({ connections: 8, keepAliveTimeout: 10, keepAliveMaxTimeout: 10 })
  t.after(() => agent.close())
  const acknowledged: Array<{ id: string, at: number }> = []
  const statuses: Record<number, number> = {}
  let n = 0
  const post = async (body: Record<string, unknown>) => {
    const res = await request(`${base}/webhooks/gupy`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${SECRET}` }, body: JSON.stringify(body) })
    await res.body.dump()
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
    if (res.statusCode === 200) acknowledged.push({ id: body.id as string, at: Date.now() })
    return res.statusCode
  }
  const delivery = () => {
    n++
    return applicationEvent(person(1000 + n), { id: `steady-${n}`, event: 'application.created', date: new Date(Date.UTC(2025, 6, 1, 0, 0, n)), step: 'Cadastro' })
  }

  // The person to erase, with two deliveries, served once on the contacts feed.
  const gone = person(7)
  assert.equal(await post(applicationEvent(gone, { id: 'gone-1', event: 'application.created', date: new Date(Date.UTC(2025, 5, 1)), step: 'Cadastro' })), 200)
  assert.equal(await post(applicationEvent(gone, { id: 'gone-2', date: new Date(Date.UTC(2025, 5, 2)), step: 'Entrevista', previous: 'Cadastro' })), 200)
  for (let i = 0; i < 300; i++) assert.equal(await post(delivery()), 200)
  const polled = await request(`${base}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
  assert.equal(polled.statusCode, 200)
  await polled.body.dump()

  const traffic = { stop: false }
  const posters = Promise.all(Array.from({ length: 6 }, async () => { while (!traffic.stop) await post(delivery()) }))
  try {
    const erased = await cli(['erase', '--cpf', gone.cpf], env)
    assert.equal(erased.code, 0, erased.stderr)
    assert.match(erased.stdout, /erased: 1 contacts/)
    for (const file of ['', '-wal', '-shm'].map((suffix) => env.DATABASE_PATH + suffix).filter(existsSync)) {
      const bytes = readFileSync(file)
      for (const value of [gone.cpf, gone.email, gone.first]) assert.equal(bytes.indexOf(value), -1, `${value} found in ${file}`)
    }

    const backupStarted = Date.now()
    const before = acknowledged.filter((a) => a.at < backupStarted).map((a) => a.id)
    const target = join(dir, 'backup.sqlite')
    const backup = await cli(['backup', target], env)
    assert.equal(backup.code, 0, backup.stderr)
    assert.match(backup.stdout, /integrity ok/)
    const copy = new Database(target, { readonly: true })
    const has = copy.prepare('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
    assert.deepEqual(before.filter((id) => has.get(id) === undefined), [], 'the backup holds every delivery acknowledged before it started')
    copy.close()

    const reprocess = await cli(['reprocess', '--all'], env)
    assert.equal(reprocess.code, 0, reprocess.stderr)
    assert.match(reprocess.stdout, /deliveries to map again\n/)
  } finally {
    traffic.stop = true
    await posters
  }
  t.diagnostic(`webhook answers during the commands: ${JSON.stringify(statuses)}`)
  assert.deepEqual(Object.keys(statuses).filter((s) => s !== '200' && s !== '503'), [], 'every answer is 200 or 503')
  const db = new Database(env.DATABASE_PATH, { readonly: true })
  const stored = db.prepare('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
  const lost = acknowledged.filter((a) => stored.get(a.id) === undefined)
  db.close()
  assert.deepEqual(lost, [], 'nothing acknowledged is lost')
})
