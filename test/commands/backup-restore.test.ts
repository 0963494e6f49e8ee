/** `backup` never onto the database itself, and `restore` with the service stopped: real processes on real files. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, linkSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { Database } from '../../src/store/sqlite.js'
import { FEED_TOKEN, SECRET, applicationEvent, cli, damageOnDisk, delivery, person, startService, tempDir } from '../helper.js'
import { RUBEUS_ORIGEM, RUBEUS_TOKEN, rubeusStandIn } from '../rubeus-stand-in.js'

const envIn = (dir: string) => ({ DATABASE_PATH: join(dir, 'bridge.sqlite'), GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, FEED_SETTLE_SECONDS: '0', LOG_LEVEL: 'warn' })

async function post (url: string, body: Record<string, unknown>): Promise<string | undefined> {
  const res = await request(`${url}/webhooks/gupy`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: JSON.stringify(body) })
  const answer = await res.body.json() as { status?: string }
  assert.equal(res.statusCode, 200, JSON.stringify(answer))
  return answer.status
}

async function pollContacts (url: string): Promise<Array<{ codigo: string }>> {
  const res = await request(`${url}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
  assert.equal(res.statusCode, 200)
  return await res.body.json() as Array<{ codigo: string }>
}

/** Each delivery a new person (own CPF, e-mail and application), so each makes its own contact. */
let people = 0
function newPerson (): Record<string, unknown> {
  people++
  return applicationEvent(person(7000 + people), { id: `restore-${people}`, event: 'application.created', date: new Date(Date.UTC(2025, 6, 1, 0, 0, people)), step: 'Cadastro' })
}

function storedIds (file: string): Set<string> {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    assert.equal(db.pragma('quick_check', { simple: true }), 'ok')
    return new Set(db.prepare('SELECT event_id FROM deliveries').pluck().all() as string[])
  } finally {
    db.close()
  }
}

const fingerprint = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

describe('backup onto the database itself', () => {
  test('the live file, a link to it, a hard link, its -wal (by name or by link), -shm and lock are refused, --force or not; the database stays whole', async (t) => {
    const dir = tempDir(t)
    const env = envIn(dir)
    const db = env.DATABASE_PATH
    const service = await startService(t, env)
    const acknowledged: string[] = []
    for (let i = 0; i < 200; i++) {
      const body = delivery()
      assert.equal(await post(service.url, body), 'accepted')
      acknowledged.push(body.id as string)
    }
    assert.ok(statSync(`${db}-wal`).size > 0, 'the service has commits in its -wal')
    symlinkSync(db, join(dir, 'link.sqlite'))
    linkSync(db, join(dir, 'hard.sqlite'))
    symlinkSync(`${db}-wal`, join(dir, 'wal-link'))
    const targets = [db, join(dir, 'link.sqlite'), join(dir, 'hard.sqlite'), `${db}-wal`, join(dir, 'wal-link'), join(dir, '..', dir.split('/').at(-1)!, 'bridge.sqlite-shm'), `${db}.lock`]
    for (const target of targets) {
      for (const force of [[], ['--force']]) {
        const res = await cli(['backup', target, ...force], env)
        assert.equal(res.code, 2, `${target} ${force.join('')}: ${res.stdout}`)
        assert.match(res.stderr, /^backup: .* is (the database|the database's -wal file|the database's -shm file|the service's lock) \(.*\): a backup goes to another file\n/)
        assert.equal(res.stdout, '', 'nothing was written')
        const body = delivery()
        assert.equal(await post(service.url, body), 'accepted', 'the service keeps storing')
        acknowledged.push(body.id as string)
      }
    }
    assert.equal((await service.stop('SIGTERM')).code, 0)
    const stored = storedIds(db)
    assert.deepEqual(acknowledged.filter((id) => !stored.has(id)), [], 'every acknowledged delivery is in the database, which passes its check')

    // And after a restart, a retry of a stored delivery is still a duplicate.
    const again = await startService(t, env)
    assert.equal(await post(again.url, { ...delivery(), id: acknowledged[0] }), 'duplicate')
  })
})

describe('restore', () => {
  test('refused beside a running service; with the service stopped the backup is put in place without the stale -wal, and what follows is said', async (t) => {
    const dir = tempDir(t)
    const env = envIn(dir)
    const db = env.DATABASE_PATH
    const copy = join(dir, 'backup.sqlite')
    const service = await startService(t, env)
    const before = Array.from({ length: 40 }, newPerson)
    for (const body of before) assert.equal(await post(service.url, body), 'accepted')
    assert.equal((await pollContacts(service.url)).length, 40)
    const backup = await cli(['backup', copy], env)
    assert.equal(backup.code, 0, backup.stderr)
    const after = Array.from({ length: 30 }, newPerson)
    for (const body of after) assert.equal(await post(service.url, body), 'accepted')
    const servedAfter = await pollContacts(service.url)
    assert.equal(servedAfter.length, 30)

    const refused = await cli(['restore', copy], env)
    assert.equal(refused.code, 1)
    assert.equal(refused.stderr, `restore: a service is running on ${db} (it holds ${db}.lock): stop it, then run restore again\n`)
    assert.equal(await post(service.url, after[0]!), 'duplicate', 'the running service and its database are untouched')

    // Killed, as a crashed service would be: its last commits are still in the -wal.
    await service.stop('SIGKILL')
    assert.ok(statSync(`${db}-wal`).size > 0)
    const inBackup = new Database(copy, { readonly: true })
    const newest = new Date(inBackup.prepare('SELECT max(received_at) FROM deliveries').pluck().get() as number).toISOString()
    const lastServed = new Date(inBackup.prepare("SELECT max(finished_at) FROM feed_batches WHERE outcome = 'served'").pluck().get() as number).toISOString()
    inBackup.close()

    const restored = await cli(['restore', copy], env)
    assert.equal(restored.code, 0, restored.stderr)
    assert.match(restored.stdout, new RegExp(`restored ${db} from ${copy}: 40 deliveries, integrity ok; the newest delivery in it was received ${newest}\n`))
    assert.match(restored.stdout, /the database it replaced is kept as .*bridge\.sqlite\.replaced-\S+ \(with its -wal\): delete it once/)
    assert.match(restored.stdout, new RegExp(`deliveries acknowledged to Gupy after ${newest} are gone, unless Gupy sends them again; a retry of one of them is then stored as a new delivery`))
    assert.match(restored.stdout, new RegExp(`records served to Rubeus after ${lastServed} \\(the last batch served in the backup\\) will be served again: .*events appear a second time`))
    const files = readdirSync(dir)
    assert.ok(!files.includes('bridge.sqlite-wal') && !files.includes('bridge.sqlite-shm'), `no stale -wal or -shm beside the restored file: ${files.join(', ')}`)
    const aside = files.find((f) => /^bridge\.sqlite\.replaced-[^-]+.*Z$/.test(f))
    assert.ok(aside !== undefined && files.includes(`${aside}-wal`), `the replaced database is kept with its -wal: ${files.join(', ')}`)
    assert.ok(!files.some((f) => f.includes('.restoring')), 'nothing half-written is left')

    const restarted = await startService(t, env)
    assert.equal(await post(restarted.url, before[0]!), 'duplicate', 'what the backup held is there')
    assert.equal(await post(restarted.url, after[0]!), 'accepted', 'a delivery acknowledged after the backup is gone: its retry is new')
    const servedAgain = await pollContacts(restarted.url)
    assert.deepEqual(servedAgain.map((c) => c.codigo), [servedAfter[0]!.codigo], 'a contact served after the backup is served again')
  })

  test('in push delivery, what was pushed after the backup is pushed again as edits: the same contact, the same events', async (t) => {
    const rubeus = await rubeusStandIn(t)
    for (const feed of ['candidatura', 'mudanca-de-etapa']) rubeus.eventTypes.push({ id: feed, titulo: feed, codigo: `gupy-${feed}`, origem: RUBEUS_ORIGEM, origemNome: 'Gupy' })
    const dir = tempDir(t)
    const env = { ...envIn(dir), RUBEUS_DELIVERY: 'push', RUBEUS_API_URL: rubeus.url, RUBEUS_API_TOKEN: RUBEUS_TOKEN, RUBEUS_ORIGEM, RUBEUS_API_REQUESTS_PER_MINUTE: '6000' }
    const queue = () => {
      const db = new Database(env.DATABASE_PATH, { readonly: true })
      try { return db.prepare('SELECT count(*) FROM push_items').pluck().get() as number } finally { db.close() }
    }
    const until = async (what: string, check: () => boolean) => {
      for (const deadline = Date.now() + 30_000; !check();) {
        if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    // Rubeus is down while the backup is taken: the person's contact and events are in it, still to push.
    rubeus.failAll(503)
    const service = await startService(t, env)
    const p = person(7900)
    await post(service.url, applicationEvent(p, { id: 'push-restore-c', event: 'application.created', date: new Date(Date.UTC(2025, 6, 1)), step: 'Cadastro' }))
    await post(service.url, applicationEvent(p, { id: 'push-restore-m', date: new Date(Date.UTC(2025, 6, 2)), step: 'Entrevista', previous: 'Cadastro' }))
    await until('the push under way', () => rubeus.calls.length > 0 && queue() === 3)
    const copy = join(dir, 'backup.sqlite')
    assert.equal((await cli(['backup', copy], env)).code, 0)
    rubeus.recover()
    await until('pushed after the backup', () => rubeus.events.size === 2 && queue() === 0)
    await service.stop('SIGTERM')
    const pushed = rubeus.callsTo('Evento/cadastro').map((c) => c.body.codigo)

    const restored = await cli(['restore', copy], env)
    assert.equal(restored.code, 0, restored.stderr)
    assert.match(restored.stdout, /\n {2}- records pushed to Rubeus after the backup was taken will be pushed again \(RUBEUS_DELIVERY=push\): those handed to the pusher after \S+ \(the last batch handed over in the backup\) and the 3 still to push in it\. They arrive as edits: events by their codigo, contacts looked up by theirs and updated; none is created twice\n/)
    assert.doesNotMatch(restored.stdout, /served again|a second time/)
    await startService(t, env)
    await until('pushed again', () => rubeus.callsTo('Evento/cadastro').length === 4 && queue() === 0)
    assert.deepEqual(rubeus.callsTo('Evento/cadastro').slice(2).map((c) => c.body.codigo), pushed, 'the same events, edited')
    assert.equal(rubeus.events.size, 2)
    assert.equal(rubeus.contacts.size, 1, 'the contact, looked up by its codigo, is not created again')
    assert.equal(typeof rubeus.callsTo('Contato/cadastro').at(-1)!.body.id, 'number', 'it is updated by its Rubeus id')
  })

  test('refuses what is not a sound backup of this bridge, and the database itself; the database is left as it was', async (t) => {
    const dir = tempDir(t)
    const env = envIn(dir)
    const db = env.DATABASE_PATH
    const service = await startService(t, env)
    for (let i = 0; i < 50; i++) await post(service.url, delivery())
    const damaged = join(dir, 'damaged.sqlite')
    assert.equal((await cli(['backup', damaged], env)).code, 0)
    damageOnDisk(damaged)
    await service.stop('SIGTERM')

    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'not a database at all, just some text that is long enough to fill a header page\n'.repeat(20))
    const foreign = join(dir, 'foreign.sqlite')
    const other = new Database(foreign)
    other.exec('CREATE TABLE things (id INTEGER PRIMARY KEY); PRAGMA user_version = 3')
    other.close()
    symlinkSync(db, join(dir, 'link.sqlite'))
    const original = fingerprint(db)

    const cases: Array<[string, number, RegExp]> = [
      [text, 1, /is not a SQLite database/],
      [foreign, 1, /is not a database of this bridge: it lacks the tables /],
      [damaged, 1, /is damaged .*restore an older backup/],
      [join(dir, 'missing.sqlite'), 1, /no file at/],
      [db, 2, /is the database \(.*\), not a backup of it/],
      [join(dir, 'link.sqlite'), 2, /is the database \(.*\), not a backup of it/]
    ]
    for (const [source, code, message] of cases) {
      const res = await cli(['restore', source], env)
      assert.equal(res.code, code, `${source}: ${res.stderr}`)
      assert.match(res.stderr.split('\n')[0]!, message)
      assert.equal(fingerprint(db), original, `${source}: the database is untouched`)
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.restoring') || f.includes('.replaced-')), [])
    assert.ok(existsSync(db))
  })
})
