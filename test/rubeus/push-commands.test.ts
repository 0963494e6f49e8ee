/**
 * The operator commands in push delivery (SPEC §4b), as real processes beside a real service in push
 * mode that pushes to the stand-in of Rubeus's CRM API: `rewind` queues records again for pushing
 * (events edited in place by their codigo, contacts updated, nothing created twice), and
 * `retry-parked` queues again what Rubeus refused.
 */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { request } from 'undici'
import { Database } from '../../src/store/sqlite.js'
import { SECRET, applicationEvent, cli, person, startService, tempDir, type Person } from '../helper.js'
import { RUBEUS_ORIGEM, RUBEUS_TOKEN, rubeusStandIn, type RubeusStandIn } from '../rubeus-stand-in.js'

type Json = Record<string, unknown>

const FEEDS = ['candidatura', 'mudanca-de-etapa', 'reprovacao', 'desistencia']

/** The environment of a service or a command in push mode on a fresh database, pushing to the stand-in. */
function pushEnv (t: TestContext, rubeus: RubeusStandIn): Record<string, string> & { DATABASE_PATH: string } {
  return {
    DATABASE_PATH: join(tempDir(t), 'bridge.sqlite'),
    GUPY_WEBHOOK_SECRETS: SECRET,
    RUBEUS_DELIVERY: 'push',
    RUBEUS_API_URL: rubeus.url,
    RUBEUS_API_TOKEN: RUBEUS_TOKEN,
    RUBEUS_ORIGEM,
    RUBEUS_BASE_LEGAL: '3',
    RUBEUS_API_REQUESTS_PER_MINUTE: '6000',
    LOG_LEVEL: 'warn'
  }
}

/** The feeds' event types in the tenant, as `setup-rubeus` makes them. */
function withEventTypes (rubeus: RubeusStandIn): void {
  for (const feed of FEEDS) rubeus.eventTypes.push({ id: `9${rubeus.eventTypes.length}`, titulo: `Gupy: ${feed}`, codigo: `gupy-${feed}`, origem: RUBEUS_ORIGEM, origemNome: 'Gupy' })
}

/** Waits (on real time, bounded) until the check holds; fails with what it waited for. */
async function until (what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function post (url: string, body: Json): Promise<void> {
  const res = await request(`${url}/webhooks/gupy`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: JSON.stringify(body) })
  assert.equal(res.statusCode, 200, await res.body.text())
  await res.body.dump()
}

/** A person's application over HTTP: created, then moved to a second step. */
async function apply (url: string, p: Person): Promise<void> {
  const at = Date.UTC(2026, 10, 2, 12)
  await post(url, applicationEvent(p, { id: `push-${p.n}-c`, event: 'application.created', date: new Date(at), step: 'Cadastro' }))
  await post(url, applicationEvent(p, { id: `push-${p.n}-m`, date: new Date(at + 60_000), step: 'Entrevista', previous: 'Cadastro' }))
}

/** Records still in the push queue (pending or parked, or one state), read from the service's database. */
function queued (file: string, state?: 'pending' | 'parked'): number {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT count(*) FROM push_items WHERE state = coalesce(?, state)').pluck().get(state ?? null) as number
  } finally {
    db.close()
  }
}

/** Why the parked records wait, per feed, read from the service's database. */
function parkedReasons (file: string): Array<{ feed: string, reason: string }> {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return db.prepare("SELECT feed, reason FROM push_items WHERE state = 'parked' ORDER BY seq").all() as Array<{ feed: string, reason: string }>
  } finally {
    db.close()
  }
}

const codigos = (calls: RubeusStandIn['calls']) => calls.map((c) => c.body.codigo as string).sort()

describe('rewind in push delivery', () => {
  test('queues records again for pushing: the same events edited in place by their codigo, the contacts updated, nothing created twice', async (t) => {
    const rubeus = await rubeusStandIn(t)
    withEventTypes(rubeus)
    const env = pushEnv(t, rubeus)
    const since = new Date().toISOString()
    const service = await startService(t, env)
    for (const n of [1, 2]) await apply(service.url, person(n))
    await until('both people and their events pushed', () => rubeus.events.size === 4 && queued(env.DATABASE_PATH) === 0)
    assert.equal(rubeus.contacts.size, 2)
    const firstEvents = rubeus.callsTo('Evento/cadastro')
    assert.equal(firstEvents.length, 4)
    const contactCalls = rubeus.callsTo('Contato/cadastro').length

    const events = await cli(['rewind', '--feed', 'candidatura', '--since', since], env)
    assert.equal(events.code, 0, events.stderr)
    assert.match(events.stdout, /^candidatura: cursor moved back to before batch \d+; 2 records queued again for pushing: the running service pushes them within seconds \(events are edited in place in Rubeus, by their codigo, not added again\)\n$/)
    assert.doesNotMatch(events.stdout, /poll/)
    await until('the two applications pushed again', () => rubeus.callsTo('Evento/cadastro').length === 6 && queued(env.DATABASE_PATH) === 0)
    const again = rubeus.callsTo('Evento/cadastro').slice(4)
    assert.deepEqual(codigos(again), codigos(firstEvents.filter((c) => c.body.codTipo === 'gupy-candidatura')), 'the same events, by their codigo')
    assert.equal(rubeus.events.size, 4, 'no event added')
    assert.equal(rubeus.callsTo('Contato/cadastro').length, contactCalls, 'a known contact is not pushed with its events')

    const contacts = await cli(['rewind', '--feed', 'contatos', '--since', since], env)
    assert.equal(contacts.code, 0, contacts.stderr)
    assert.match(contacts.stdout, /^contatos: cursor moved back to before batch \d+; 2 records queued again for pushing: .*\(contacts are updated in Rubeus with what the bridge holds now\)\n$/)
    await until('both contacts pushed again', () => rubeus.callsTo('Contato/cadastro').length === contactCalls + 2 && queued(env.DATABASE_PATH) === 0)
    const updates = rubeus.callsTo('Contato/cadastro').slice(contactCalls)
    assert.deepEqual(updates.map((c) => typeof c.body.id).sort(), ['number', 'number'], 'updates carry the Rubeus id')
    assert.deepEqual(updates.map((c) => c.body.codigo).sort(), [person(1).cpf, person(2).cpf].sort())
    assert.equal(rubeus.contacts.size, 2, 'no second contact')
    assert.equal(rubeus.events.size, 4)
    assert.equal((await service.stop()).code, 0)
  })
})

describe('retry-parked', () => {
  test('usage: an unknown feed exits 2 with the feeds; --help; listed among the commands', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const env = pushEnv(t, rubeus)
    const unknown = await cli(['retry-parked', '--feed', 'nope'], env)
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /^retry-parked: no feed named "nope" \(feeds: contatos, candidatura, mudanca-de-etapa, reprovacao, desistencia\)\n\nusage: gupy-rubeus-bridge retry-parked \[--feed <feed>\]\n/)
    assert.equal(unknown.stdout, '')
    const extra = await cli(['retry-parked', '--all'], env)
    assert.equal(extra.code, 2)
    const help = await cli(['retry-parked', '--help'], {})
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^usage: gupy-rubeus-bridge retry-parked \[--feed <feed>\]\n\nIn push delivery a record Rubeus refuses is parked/)
    assert.match((await cli(['--help'], {})).stdout, /\n {2}retry-parked {7}queue again the records Rubeus refused/)
  })

  test('nothing parked: exit 0, nothing to do; records Rubeus refused are queued again, counted, and pushed once the cause is fixed', async (t) => {
    const rubeus = await rubeusStandIn(t, { eventTypes: [] }) // the tenant has none of the feeds' event types yet
    const env = pushEnv(t, rubeus)
    const service = await startService(t, env)
    const fresh = await cli(['retry-parked'], env)
    assert.equal(fresh.code, 0, fresh.stderr)
    assert.equal(fresh.stdout, 'no parked record: nothing to do\n')

    for (const n of [1, 2]) await apply(service.url, person(n))
    // Each contact is created; its first event is refused and parked, its second waits behind it.
    await until('each person\'s first event parked', () => queued(env.DATABASE_PATH, 'parked') === 2 && queued(env.DATABASE_PATH, 'pending') === 2)
    assert.equal(rubeus.contacts.size, 2)
    assert.equal(rubeus.events.size, 0)
    assert.deepEqual(parkedReasons(env.DATABASE_PATH), [1, 2].map(() => ({
      feed: 'candidatura', reason: 'Rubeus refused Evento/cadastro (success: false): Tipo de evento não encontrado'
    })))

    const other = await cli(['retry-parked', '--feed', 'mudanca-de-etapa'], env)
    assert.equal(other.code, 0, other.stderr)
    assert.equal(other.stdout, 'no parked record of mudanca-de-etapa: nothing to do\n')
    assert.equal(queued(env.DATABASE_PATH, 'parked'), 2, 'the other feed\'s parked records stay parked')

    withEventTypes(rubeus) // the cause fixed, as setup-rubeus would
    const retried = await cli(['retry-parked', '--feed', 'candidatura'], env)
    assert.equal(retried.code, 0, retried.stderr)
    assert.equal(retried.stdout, '2 parked record(s) of candidatura queued again\n' +
      'the running service pushes them within seconds; a record refused again is parked again (status shows why)\n')
    await until('every event pushed', () => rubeus.events.size === 4 && queued(env.DATABASE_PATH) === 0)
    assert.equal(rubeus.contacts.size, 2, 'no second contact')
    assert.deepEqual([...rubeus.events.values()].map((e) => e.codTipo).sort(), ['gupy-candidatura', 'gupy-candidatura', 'gupy-mudanca-de-etapa', 'gupy-mudanca-de-etapa'])

    const again = await cli(['retry-parked'], env)
    assert.equal(again.stdout, 'no parked record: nothing to do\n')
    assert.equal((await service.stop()).code, 0)
  })
})
