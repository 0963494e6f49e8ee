/**
 * Push delivery (SPEC §4b) through the real service in this process (`inject()` for Gupy's webhooks)
 * against the stand-in of Rubeus's CRM API over a real socket: every record acknowledged once, in
 * order, whatever Rubeus answers.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp, type App } from '../../src/app.js'
import { createEraser } from '../../src/store/erase.js'
import { CONSOLE_PASSWORD, SECRET, applicationEvent, cli, logSink, person, postDelivery, startService, testConfig, type Person } from '../helper.js'
import { pushing, until } from '../push-service.js'
import { DOCUMENTED, RUBEUS_ORIGEM, RUBEUS_TOKEN, rubeusStandIn, type RubeusStandIn } from '../rubeus-stand-in.js'

type Json = Record<string, unknown>

/** Nothing pending or in flight in the queue. */
const settled = (app: App) => app.store.push.counts().pending === 0 && app.pusher.active() === 0

let ids = 0
const nextId = () => `00000000-0000-4000-9000-${String(++ids).padStart(12, '0')}`

/** A person's application: created, then moved to a second step; returns the delivery ids. */
async function apply (app: App, p: Person, at = Date.UTC(2026, 10, 2, 12)): Promise<string[]> {
  const bodies = applicationBodies(p, at)
  for (const body of bodies) assert.equal((await postDelivery(app, body)).statusCode, 200)
  return bodies.map((b) => b.id as string)
}

/** The default mapping's event types, present in the tenant (setup-rubeus made them). */
function addTypes (rubeus: RubeusStandIn): void {
  for (const feed of ['candidatura', 'mudanca-de-etapa', 'reprovacao', 'desistencia']) {
    rubeus.eventTypes.push({ id: `t-${feed}`, titulo: `Gupy: ${feed}`, codigo: `gupy-${feed}`, origem: RUBEUS_ORIGEM, origemNome: 'Gupy' })
  }
}

/** A person's application.created and application.moved bodies. */
function applicationBodies (p: Person, at = Date.UTC(2026, 10, 2, 12)): Array<Record<string, unknown>> {
  return [
    applicationEvent(p, { id: nextId(), event: 'application.created', date: new Date(at), step: 'Cadastro' }),
    applicationEvent(p, { id: nextId(), date: new Date(at + 60_000), step: 'Entrevista', previous: 'Cadastro' })
  ]
}

const contactsNamed = (rubeus: RubeusStandIn, codigo: string) => [...rubeus.contacts.values()].filter((c) => c.codigo === codigo)

describe('push delivery', () => {
  for (const unknownContact of ['refused', 'empty'] as const) {
    test(`contacts looked up, created once, then their events in order (unknown code answered ${unknownContact})`, async (t) => {
      const { app, rubeus } = await pushing(t, { standIn: { unknownContact, eventTypes: [] } })
      // The feeds' event types exist in the tenant (setup-rubeus made them).
      for (const feed of ['candidatura', 'mudanca-de-etapa']) rubeus.eventTypes.push({ id: feed, titulo: `Gupy: ${feed}`, codigo: `gupy-${feed}`, origem: RUBEUS_ORIGEM, origemNome: 'Gupy' })
      const a = person(1)
      const b = person(2)
      const [createdA, movedA] = await apply(app, a)
      await apply(app, b)
      await until('both people pushed', () => settled(app) && rubeus.events.size === 4)

      assert.equal(contactsNamed(rubeus, a.cpf).length, 1)
      assert.equal(contactsNamed(rubeus, b.cpf).length, 1)
      const callsOfA = rubeus.calls.filter((c) => c.body.codigo === a.cpf || (c.body.pessoa as Json | undefined)?.id === contactsNamed(rubeus, a.cpf)[0]!.id)
      assert.deepEqual(callsOfA.map((c) => c.method), ['Contato/dadosPessoa', 'Contato/cadastro', 'Evento/cadastro', 'Evento/cadastro'])
      const [lookUp, create, first, second] = callsOfA
      assert.deepEqual(lookUp!.body, { codigo: a.cpf, origem: Number(RUBEUS_ORIGEM), token: RUBEUS_TOKEN })
      assert.equal(create!.body.id, undefined, 'a creation carries no id')
      assert.equal(first!.body.codigo, `gupy:${createdA}:candidatura`)
      assert.equal(second!.body.codigo, `gupy:${movedA}:mudanca-de-etapa`)
      assert.deepEqual(first!.body.pessoa, { id: contactsNamed(rubeus, a.cpf)[0]!.id })
      assert.equal(first!.body.codTipo, 'gupy-candidatura')
      assert.equal(first!.body.momento, '2026-11-02 09:00:00') // TIMEZONE America/Sao_Paulo
      assert.equal(second!.body.momento, '2026-11-02 09:01:00')
      assert.equal(app.store.push.counts().lastSuccessAt !== undefined, true)
    })
  }

  test('field names and values against the documented Contato/cadastro and Evento/cadastro examples', async (t) => {
    const { app, rubeus } = await pushing(t)
    rubeus.eventTypes.push({ id: '9', titulo: 'Gupy: candidatura', codigo: 'gupy-candidatura', origem: RUBEUS_ORIGEM, origemNome: 'Gupy' })
    const p = person(3)
    const body = applicationEvent(p, {
      id: nextId(),
      event: 'application.created',
      date: new Date(Date.UTC(2026, 10, 2, 12)),
      step: 'Cadastro',
      candidate: { gender: 'Female', phoneNumber: '+55 21 3333-4444', addressCity: 'Muriaé', addressStateShortName: 'MG' }
    })
    assert.equal((await postDelivery(app, body)).statusCode, 200)
    await until('the contact and its event pushed', () => settled(app) && rubeus.events.size === 1)

    const documented = DOCUMENTED['Contato/cadastro']!.request
    const sent = rubeus.callsTo('Contato/cadastro')[0]!.body
    for (const [key, value] of Object.entries(sent)) {
      assert.ok(key in documented, `Contato/cadastro has no field ${key}`)
      if (key === 'origem') assert.equal(value, Number(RUBEUS_ORIGEM)) // an integer, as Rubeus's prose says (the example quotes it)
      else assert.equal(typeof value, typeof documented[key], `${key}: ${JSON.stringify(value)}`)
    }
    assert.equal(sent.sexo, 2)
    assert.deepEqual(sent.estadoCidade, { cidade: 'Muriaé', estado: 'MG' })
    assert.deepEqual(sent.telefone, ['+55 (21) 3333-4444'].map(() => (sent.telefone as string[])[0]))
    assert.equal((sent.telefone as string[]).length, 1)
    assert.equal(sent.baseLegal, '3')
    for (const gone of ['telefones', 'genero', 'cidade', 'uf', 'emails']) assert.ok(!(gone in sent), `${gone} is a pull-feed name`)

    const event = rubeus.callsTo('Evento/cadastro')[0]!.body
    const documentedEvent = DOCUMENTED['Evento/cadastro']!.request
    for (const [key, value] of Object.entries(event)) {
      assert.ok(key in documentedEvent, `Evento/cadastro has no field ${key}`)
      if (key !== 'origem') assert.equal(typeof value, typeof documentedEvent[key], key)
    }
    assert.ok(!('codContato' in event))
  })

  test('no feed URL answers in push mode', async (t) => {
    const { app } = await pushing(t)
    for (const url of ['/rubeus/contatos', '/rubeus/eventos/candidatura']) {
      const res = await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer x' } })
      assert.equal(res.statusCode, 404, url)
    }
  })

  test('500s then success, and 429: each record arrives once', async (t) => {
    const { app, rubeus } = await pushing(t)
    rubeus.eventTypes.push({ id: '9', titulo: 'c', codigo: 'gupy-candidatura', origem: RUBEUS_ORIGEM, origemNome: 'Gupy' },
      { id: '10', titulo: 'e', codigo: 'gupy-mudanca-de-etapa', origem: RUBEUS_ORIGEM, origemNome: 'Gupy' })
    rubeus.fail({ status: 500 }, { method: 'Contato/dadosPessoa', times: 2 })
    rubeus.fail({ status: 429, headers: { 'retry-after': '0' } }, { method: 'Evento/cadastro', times: 2 })
    rubeus.fail({ status: 503 }, { method: 'Contato/cadastro', times: 1 })
    const p = person(4)
    await apply(app, p)
    await until('pushed', () => settled(app) && rubeus.events.size === 2)
    assert.equal(contactsNamed(rubeus, p.cpf).length, 1)
    assert.equal(app.store.push.counts().retrying, 0)
  })

  test('a write applied whose answer is lost: no second contact, no second event', async (t) => {
    const { app, rubeus } = await pushing(t)
    addTypes(rubeus)
    rubeus.fail({ drop: 'after' }, { method: 'Contato/cadastro' })
    rubeus.fail({ drop: 'after' }, { method: 'Evento/cadastro', times: 2 })
    const p = person(5)
    await apply(app, p)
    await until('pushed', () => settled(app) && rubeus.events.size === 2)
    assert.equal(contactsNamed(rubeus, p.cpf).length, 1, 'the lost creation was found by the look-up')
    const writes = rubeus.callsTo('Contato/cadastro')
    assert.deepEqual(writes.map((c) => c.body.id), [undefined, contactsNamed(rubeus, p.cpf)[0]!.id], 'not made again: updated by its id')
    assert.equal(rubeus.callsTo('Evento/cadastro').length, 4, 'each event sent again with its codigo: edited, not added')
    assert.equal(rubeus.events.size, 2)
  })

  test('a refusal parks the record and holds that contact\'s events; everyone else flows; retry-parked once the cause is fixed', async (t) => {
    const { app, rubeus, env } = await pushing(t)
    addTypes(rubeus)
    const a = person(6)
    const b = person(7)
    rubeus.fail({ status: 200, body: JSON.stringify({ success: false, erro: [{ erro: `Base legal inválida para ${a.email}` }] }) }, { method: 'Contato/cadastro' })
    await apply(app, a)
    await until('a parked', () => app.store.push.counts().parked === 1 && app.pusher.active() === 0)
    await apply(app, b)
    await until('b pushed', () => contactsNamed(rubeus, b.cpf).length === 1 && rubeus.events.size === 2 && app.pusher.active() === 0)
    const counts = app.store.push.counts()
    assert.deepEqual([counts.parked, counts.pending], [1, 2], 'a\'s contact parked, its two events held')
    assert.equal(contactsNamed(rubeus, a.cpf).length, 0)
    const [parked] = app.store.push.parked()
    assert.equal(parked!.feed, 'contatos')
    assert.match(parked!.reason, /^Rubeus refused Contato\/cadastro \(success: false\): Base legal inválida para/)
    assert.ok(!parked!.reason.includes(a.email), 'personal data masked')
    const metrics = (await app.inject('/metrics')).body
    assert.match(metrics, /^bridge_rubeus_push_parked\{feed="contatos"\} 1$/m)
    assert.match(metrics, /^bridge_rubeus_push_pending\{feed="candidatura"\} 1$/m)
    assert.match(metrics, /^bridge_rubeus_push_calls_total\{method="Contato\/cadastro",result="refused"\} 1$/m)
    assert.match(metrics, /^bridge_rubeus_push_calls_total\{method="Evento\/cadastro",result="success"\} 2$/m)
    assert.match(metrics, /^bridge_rubeus_push_oldest_pending_seconds \d/m)

    const retried = await cli(['retry-parked', '--feed', 'contatos'], { ...env, DATABASE_PATH: app.store.db.name })
    assert.equal(retried.code, 0, retried.stderr)
    assert.match(retried.stdout, /^1 parked record\(s\) of contatos queued again\n/)
    await until('a pushed after retry-parked', () => settled(app) && rubeus.events.size === 4)
    assert.equal(contactsNamed(rubeus, a.cpf).length, 1)
    assert.deepEqual(app.store.push.counts().parked, 0)
  })

  test('an outage of several seconds: everything arrives once afterwards', async (t) => {
    const { app, rubeus } = await pushing(t)
    addTypes(rubeus)
    const people = [8, 9, 10, 11].map(person)
    const outage = rubeus.down(3000)
    for (const p of people) await apply(app, p)
    await until('retrying while Rubeus is down', () => app.store.push.counts().retrying > 0)
    await outage
    await until('all pushed', () => settled(app) && rubeus.events.size === 8, 20_000)
    for (const p of people) assert.equal(contactsNamed(rubeus, p.cpf).length, 1)
    assert.equal(app.store.push.counts().retrying, 0)
  })

  test('the token reaches no log line, even when Rubeus echoes it in a refusal or fails', async (t) => {
    const sink = logSink()
    const { app, rubeus } = await pushing(t, { log: sink.stream })
    addTypes(rubeus)
    rubeus.fail({ status: 503, body: JSON.stringify({ success: false, token: RUBEUS_TOKEN }) }, { method: 'Contato/dadosPessoa' })
    rubeus.fail({ status: 400, body: JSON.stringify({ success: false, message: `token ${RUBEUS_TOKEN} sem permissão`, token: RUBEUS_TOKEN }) }, { method: 'Contato/cadastro' })
    const p = person(12)
    await apply(app, p)
    await until('parked', () => app.store.push.counts().parked === 1 && app.pusher.active() === 0)
    const text = sink.lines.join('\n')
    assert.match(text, /Rubeus failed a push; trying again/)
    assert.match(text, /Rubeus refused a record/)
    assert.ok(!text.includes(RUBEUS_TOKEN), 'token in a log line')
    assert.ok(!JSON.stringify(app.store.push.parked()).includes(RUBEUS_TOKEN))
    for (const secret of [p.cpf, p.email, p.first]) assert.ok(!text.includes(secret), 'personal data in a log line')
  })

  test('switching from pull pushes what the feeds never served, and nothing they served', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-switch-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const served = person(13)
    const unserved = person(14)
    {
      const config = testConfig(dir)
      const app = await buildApp({ config })
      await app.ready()
      await apply(app, served)
      for (const feed of ['contatos', 'candidatura', 'mudanca-de-etapa']) {
        const res = await app.inject({ method: 'GET', url: feed === 'contatos' ? '/rubeus/contatos' : `/rubeus/eventos/${feed}`, headers: { authorization: 'Bearer feed-token-0123456789abcdef' } })
        assert.equal((JSON.parse(res.body) as unknown[]).length, 1, feed)
      }
      await apply(app, unserved)
      await app.close()
    }
    const { app, rubeus } = await pushing(t, { dir })
    addTypes(rubeus)
    rubeus.contacts.set(1, { id: 1, codigo: served.cpf }) // Rubeus made it from the feed
    await until('the unserved pushed', () => settled(app) && rubeus.events.size === 2)
    assert.ok(!rubeus.calls.some((call) => call.body.codigo === served.cpf), 'no call for the person the feeds served')
    assert.equal(contactsNamed(rubeus, unserved.cpf).length, 1)
    assert.equal(rubeus.callsTo('Evento/cadastro').length, 2, 'only the unserved person\'s two events')
  })

  test('killed with SIGKILL mid-push and restarted: nothing lost, nothing twice', async (t) => {
    const rubeus = await rubeusStandIn(t, { latencyMs: 20 })
    addTypes(rubeus)
    const dir = mkdtempSync(join(tmpdir(), 'bridge-kill-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const env = {
      DATABASE_PATH: join(dir, 'bridge.sqlite'),
      GUPY_WEBHOOK_SECRETS: SECRET,
      CONSOLE_PASSWORD,
      LOG_LEVEL: 'warn',
      RUBEUS_DELIVERY: 'push',
      RUBEUS_API_URL: rubeus.url,
      RUBEUS_API_TOKEN: RUBEUS_TOKEN,
      RUBEUS_ORIGEM,
      RUBEUS_API_REQUESTS_PER_MINUTE: '6000'
    }
    const people = Array.from({ length: 30 }, (_, i) => person(100 + i))
    const first = await startService(t, env)
    const posted: string[] = []
    for (const p of people) {
      for (const body of applicationBodies(p)) {
        const res = await fetch(`${first.url}/webhooks/gupy`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
        assert.equal(res.status, 200)
        posted.push(body.id as string)
      }
    }
    await until('pushing under way', () => rubeus.events.size >= 5)
    first.child.kill('SIGKILL')
    await first.exited
    assert.ok(rubeus.events.size < posted.length, 'killed before the end')
    const second = await startService(t, env)
    await until('everything pushed after the restart', () => rubeus.events.size === posted.length, 30_000)
    for (const p of people) assert.equal(contactsNamed(rubeus, p.cpf).length, 1, 'one contact per person')
    for (const id of posted) assert.ok([...rubeus.events.keys()].some((c) => c.startsWith(`gupy:${id}:`)), `event of ${id}`)
    second.child.kill('SIGTERM')
    await second.exited
  })

  test('retention keeps the records still to push, however old; erasure removes a person\'s queue and Rubeus id', async (t) => {
    const { app, rubeus } = await pushing(t, { standIn: { eventTypes: [] } }) // no event type: every event is refused
    const a = person(15)
    const b = person(16)
    await apply(app, a)
    await apply(app, b)
    await until('events parked', () => app.store.push.counts().parked === 2 && app.pusher.active() === 0)
    const purged = await app.store.retention.purge(30, Date.now() + 365 * 86_400_000)
    assert.equal(purged.records, 2, 'the two contacts\' records, pushed, are purged')
    assert.equal(app.store.push.counts().parked + app.store.push.counts().pending, 4, 'what is still to push stays')

    const erased = await createEraser(app.store.db).erase({ cpf: b.cpf })
    assert.equal(erased.contacts, 1)
    assert.equal(app.store.push.rubeusId(b.cpf), undefined)
    assert.deepEqual([app.store.push.counts().parked, app.store.push.counts().pending], [1, 1], 'only a\'s records are left')

    addTypes(rubeus)
    assert.equal(app.store.push.retryParked(), 1)
    app.pusher.wake()
    await until('a\'s events pushed', () => settled(app) && rubeus.events.size === 2)
    assert.ok([...rubeus.events.values()].every((e) => (e.pessoa as Json).id === contactsNamed(rubeus, a.cpf)[0]!.id))
  })

  test('a look-up answered neither way Rubeus says "unknown" (a 403, an HTML page) parks the record instead of creating a contact', async (t) => {
    const { app, rubeus } = await pushing(t)
    addTypes(rubeus)
    rubeus.fail({ status: 403, body: JSON.stringify({ message: 'Acesso negado' }) }, { method: 'Contato/dadosPessoa' })
    rubeus.fail({ html: 200 }, { method: 'Contato/dadosPessoa' })
    await apply(app, person(17))
    await apply(app, person(18))
    await until('both parked', () => app.store.push.counts().parked === 2 && app.pusher.active() === 0)
    assert.equal(rubeus.callsTo('Contato/cadastro').length, 0, 'no creation on an answer that says nothing')
    assert.deepEqual(app.store.push.parked().map((p) => p.reason.replace(/\(.*$/, '')).sort(), [
      'Rubeus answered Contato/dadosPessoa with an HTML page ',
      'Rubeus refused Contato/dadosPessoa '
    ])
  })

  test('switching back to pull with records still in the push queue: the verdict says so, with the way out', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-back-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const { app: pushApp, close } = await pushing(t, { dir, standIn: { eventTypes: [] } }) // every event refused
    await apply(pushApp, person(19))
    await until('events parked', () => pushApp.store.push.counts().parked === 1 && pushApp.pusher.active() === 0)
    await close()

    const app = await buildApp({ config: testConfig(dir) })
    t.after(() => app.close())
    await app.ready()
    const auth = { authorization: `Basic ${Buffer.from(`operator:${CONSOLE_PASSWORD}`).toString('base64')}` }
    const report = (await app.inject({ url: '/console/status.json', headers: auth })).json()
    assert.equal(report.rubeus.leftInPushQueue, 2, 'the parked event and the one held behind it')
    const left = report.verdict.reasons.find((r: { code: string }) => r.code === 'push-queue-left')
    assert.equal(left?.severity, 'warning')
    assert.equal(left?.count, 2)
    const page = (await app.inject({ url: '/console', headers: auth })).body
    assert.match(page, /ficaram na fila de envio à API da Rubeus/)
    assert.match(page, /gupy-rubeus-bridge rewind --feed &lt;feed&gt; --since &lt;data&gt;/)
  })
})
