/**
 * Push delivery seen from outside (SPEC §4b): `status --json`, `GET /console/status.json`, the console
 * and `status` show the push queue, what Rubeus refused and why, and the next steps; the verdict
 * flags parked records and a backlog. The real service in this process, pushing to the Rubeus
 * stand-in over a real socket; the command as a process on the database the service wrote.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { App } from '../../src/app.js'
import type { FullReport } from '../../src/ops/status-report.js'
import { applicationEvent, buildTestApp, cli, CONSOLE_PASSWORD, person, postDelivery, type Person } from '../helper.js'
import { pushing, until } from '../push-service.js'
import { RUBEUS_ORIGEM, RUBEUS_TOKEN } from '../rubeus-stand-in.js'

const MINUTE = 60_000
const AUTH = `Basic ${Buffer.from(`operator:${CONSOLE_PASSWORD}`).toString('base64')}`
const get = (app: App, url: string) => app.inject({ method: 'GET', url, headers: { authorization: AUTH } })

let ids = 0
/** A person's application: created, then moved to a second step. */
async function apply (app: App, p: Person): Promise<void> {
  const at = Date.now() - 3_600_000
  for (const body of [
    applicationEvent(p, { id: `push-status-${++ids}`, event: 'application.created', date: new Date(at), step: 'Cadastro' }),
    applicationEvent(p, { id: `push-status-${++ids}`, date: new Date(at + MINUTE), step: 'Entrevista', previous: 'Cadastro' })
  ]) assert.equal((await postDelivery(app, body)).statusCode, 200)
}

const formattedCpf = (cpf: string) => `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`
/** Everything of a person that must never show, and the channel's token. */
const secrets = (people: Person[]) => [RUBEUS_TOKEN, ...people.flatMap((p) =>
  [p.cpf, formattedCpf(p.cpf), p.email, p.first, `${p.first} ${p.last}`, String(p.n).padStart(8, '0')])]

function assertNothingPersonal (where: string, text: string, people: Person[]): void {
  for (const value of secrets(people)) assert.ok(!text.includes(value), `${value} must not appear in ${where}`)
}

const codes = (report: FullReport) => report.verdict.reasons.map((r) => r.feed === undefined ? r.code : `${r.code}:${r.feed}`)
const PULL_FINDINGS = /^(feed-not-polled|feed-never-polled|waiting-for-contact|batch-aborted)/

describe('push delivery seen from outside', () => {
  test('what Rubeus refused: status.json, the verdict, the console and `status` show it with Rubeus\'s reasons and the next steps, and no personal data', async (t) => {
    // No event type in the tenant: every Evento/cadastro is refused.
    const { app, rubeus, env } = await pushing(t, { standIn: { eventTypes: [] } })
    const a = person(7101)
    const b = person(7102)
    await apply(app, a)
    await until('a\'s first event parked', () => app.store.push.counts().parked === 1 && app.pusher.active() === 0)
    // b's creation is refused with an answer that repeats what it was sent.
    rubeus.fail({
      status: 400,
      body: JSON.stringify({ success: false, mensagem: `O e-mail ${b.email} do CPF ${formattedCpf(b.cpf)} já pertence a outro contato`, dados: { nome: b.first, email: b.email } })
    }, { method: 'Contato/cadastro' })
    await apply(app, b)
    await until('b\'s contact parked, everything queued', () => {
      const { parked, pending } = app.store.push.counts()
      return parked === 2 && pending === 3 && app.pusher.active() === 0
    })

    const json = await get(app, '/console/status.json')
    assert.equal(json.statusCode, 200)
    const report: FullReport = json.json()
    const push = report.rubeus.push!
    assert.equal(report.rubeus.delivery, 'push')
    assert.equal(push.parked, 2)
    assert.equal(push.pending, 3, 'a\'s second event and b\'s two events wait behind their parked records')
    assert.equal(push.waitingBehindParked, 3)
    assert.equal(push.retrying, 0)
    assert.equal(push.backlogSince, null, 'nothing is waiting for the pusher itself')
    assert.match(String(push.lastSuccessAt), /^\d{4}-\d\d-\d\dT.*Z$/)
    assert.match(String(push.oldestPendingAt), /^\d{4}-\d\d-\d\dT.*Z$/)
    assert.deepEqual(push.parkedRecords.map((p) => p.feed), ['candidatura', 'contatos'])
    const [event, contact] = push.parkedRecords
    assert.match(event!.reason, /Evento\/cadastro.*Tipo de evento não encontrado/)
    assert.equal(contact!.reason, 'Rubeus refused Contato/cadastro (HTTP 400): O e-mail [e-mail] do CPF [CPF] já pertence a outro contato')
    assert.ok(Date.parse(event!.since) <= Date.parse(contact!.since))
    assert.deepEqual(push.feeds, [{ feed: 'contatos', pending: 0, parked: 1 }, { feed: 'candidatura', pending: 1, parked: 1 },
      { feed: 'mudanca-de-etapa', pending: 2, parked: 0 }, { feed: 'reprovacao', pending: 0, parked: 0 }, { feed: 'desistencia', pending: 0, parked: 0 }])
    for (const p of push.parkedRecords) assert.deepEqual(Object.keys(p).sort(), ['feed', 'reason', 'since'])

    assert.equal(report.verdict.status, 'problem')
    assert.deepEqual(codes(report).filter((c) => c.startsWith('push-')), ['push-parked:contatos', 'push-parked:candidatura'])
    assert.deepEqual(codes(report).filter((c) => PULL_FINDINGS.test(c)), [], 'nobody polls the feeds in push mode')
    const parked = report.verdict.reasons.find((r) => r.code === 'push-parked' && r.feed === 'candidatura')!
    assert.equal(parked.severity, 'problem')
    assert.equal(parked.count, 1)
    assert.equal(parked.detail, event!.reason)
    const later = await app.serviceStatus(Date.now() + 60 * MINUTE)
    assert.ok(!later.verdict.reasons.some((r) => r.code === 'push-backlog'), 'records behind a parked one are no backlog: retry-parked frees them')

    const page = (await get(app, '/console')).body
    assert.match(page, /<h2>Envio à API do Rubeus<\/h2>/)
    assert.match(page, /<li data-code="push-parked"><span class="tag problem">problema<\/span> candidatura: registros recusados pela Rubeus, parados: 1 \(motivo: Rubeus refused Evento\/cadastro/)
    assert.match(page, /<td>contatos<\/td><td>Rubeus refused Contato\/cadastro \(HTTP 400\): O e-mail \[e-mail\] do CPF \[CPF\] já pertence a outro contato<\/td>/)
    assert.match(page, /Tipo de evento não encontrado/)
    for (const command of ['gupy-rubeus-bridge retry-parked --feed candidatura', 'gupy-rubeus-bridge retry-parked --feed contatos', 'gupy-rubeus-bridge check-rubeus', 'gupy-rubeus-bridge setup-rubeus']) {
      assert.ok(page.includes(`<code class="cmd">${command}</code>`), command)
    }
    assert.match(page, /<span data-k="rubeus\.push\.parked">2<\/span>/)
    assert.match(page, /<span data-k="rubeus\.push\.waitingBehindParked">3<\/span>/)
    assert.doesNotMatch(page, /id="feeds"|rewind --feed|Última busca da Rubeus/, 'no pull panel in push mode')
    assertNothingPersonal('the console', page, [a, b])
    assertNothingPersonal('status.json', json.body, [a, b])

    const text = await cli(['status'], env)
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^verdict: problem\n/)
    assert.match(text.stdout, /\n {2}problem candidatura: Rubeus refused records: .* \(1\): Rubeus refused Evento\/cadastro/)
    assert.match(text.stdout, /\ndelivery: push to Rubeus's CRM API\n {2}pending: 3, oldest queued .*, 3 waiting behind a parked record of their contact\n {2}retrying: 0\n {2}last success: \d{4}-.* ago\)\n {2}parked \(refused by Rubeus\): 2\n/)
    assert.match(text.stdout, /\n {4}contatos {11}1\n {11}1 {2}since .*: Rubeus refused Contato\/cadastro \(HTTP 400\): O e-mail \[e-mail\] do CPF \[CPF\] já pertence/)
    assert.match(text.stdout, /\n {4}candidatura {8}1\n {11}1 {2}since .*Tipo de evento não encontrado/)
    assert.match(text.stdout, /next: fix the cause \(`gupy-rubeus-bridge check-rubeus`[^\n]*\n[^\n]*\n {4}gupy-rubeus-bridge retry-parked --feed contatos\n {4}gupy-rubeus-bridge retry-parked --feed candidatura\n/)
    assert.doesNotMatch(text.stdout, /\nfeeds:\n|last batch/)
    assertNothingPersonal('`status`', text.stdout + text.stderr, [a, b])

    const fromCommand = await cli(['status', '--json'], env)
    assert.equal(fromCommand.code, 0, fromCommand.stderr)
    assertNothingPersonal('`status --json`', fromCommand.stdout, [a, b])
    const reports = [report, JSON.parse(fromCommand.stdout)]
    for (const r of reports) {
      delete r.generatedAt
      delete r.service
    }
    assert.deepEqual(reports[1], reports[0], 'the command and the service build the same report')
  })

  test('a backlog older than 15 minutes is a problem with Rubeus\'s last failure and `check-rubeus`; it clears once Rubeus answers', async (t) => {
    const { app, rubeus, env } = await pushing(t)
    for (const feed of ['candidatura', 'mudanca-de-etapa']) rubeus.eventTypes.push({ id: feed, titulo: feed, codigo: `gupy-${feed}`, origem: RUBEUS_ORIGEM, origemNome: 'Gupy' })
    rubeus.failAll(503)
    const c = person(7103)
    await apply(app, c)
    await until('all queued, a failed attempt recorded', () => app.store.push.counts().retrying > 0 && app.store.push.counts().pending === 3)

    const now = await app.serviceStatus()
    assert.ok(!now.verdict.reasons.some((r) => r.code === 'push-backlog'), 'records a few seconds old are no backlog')
    const later = await app.serviceStatus(Date.now() + 16 * MINUTE)
    const backlog = later.verdict.reasons.find((r) => r.code === 'push-backlog')
    assert.equal(later.verdict.status, 'problem')
    assert.equal(backlog?.severity, 'problem')
    assert.equal(backlog?.count, 3)
    assert.match(String(backlog?.detail), /^Rubeus answered 503 on Contato\/dadosPessoa/)

    // Seen on the console now: the queue as it would stand 20 minutes on.
    app.store.db.prepare('UPDATE push_items SET queued_at = queued_at - 20 * 60000').run()
    const page = (await get(app, '/console')).body
    assert.match(page, /<li data-code="push-backlog"><span class="tag problem">problema<\/span> Registros esperando há mais de 15 minutos para ir à Rubeus: 3\. Última falha: Rubeus answered 503 on Contato\/dadosPessoa, attempt \d+\./)
    assert.match(page, /Tentados de novo: a última falha foi <code>Rubeus answered 503 on Contato\/dadosPessoa, attempt \d+<\/code>/)
    assert.ok(page.includes('<code class="cmd">gupy-rubeus-bridge check-rubeus</code>'))
    assert.match(page, /<span data-k="rubeus\.push\.retrying">[1-9]<\/span>/)
    const text = await cli(['status'], env)
    assert.match(text.stdout, /\n {2}problem records have waited more than 15 minutes to be pushed to Rubeus \(3\): Rubeus answered 503 on Contato\/dadosPessoa, attempt \d+\n/)
    assert.match(text.stdout, /\n {2}retrying: [1-9]; last failure: Rubeus answered 503 on Contato\/dadosPessoa, attempt \d+\n/)
    assert.match(text.stdout, /\n {2}next: records are being retried: is Rubeus answering\? `gupy-rubeus-bridge check-rubeus`/)
    assertNothingPersonal('`status`', text.stdout, [c])
    assertNothingPersonal('the console', page, [c])

    rubeus.recover()
    await until('everything pushed', () => app.store.push.counts().pending === 0 && app.pusher.active() === 0)
    const after: FullReport = (await get(app, '/console/status.json')).json()
    assert.deepEqual(codes(after).filter((c) => c.startsWith('push-')), [])
    assert.equal(after.verdict.status, 'ok')
    assert.equal(after.rubeus.push!.oldestPendingAt, null)
    assert.doesNotMatch((await get(app, '/console')).body, /data-code="push-/)
  })

  test('pull mode: delivery "pull", no push block, the feeds\' findings and panels as before', async (t) => {
    const { app } = await buildTestApp(t)
    const report: FullReport = (await get(app, '/console/status.json')).json()
    assert.deepEqual(report.rubeus, { delivery: 'pull', push: null, leftInPushQueue: 0 })
    assert.ok(codes(report).includes('feed-never-polled:contatos'))
    const page = (await get(app, '/console')).body
    assert.match(page, /<section id="feeds"><h2>Ponte → Rubeus: feeds<\/h2>/)
    assert.doesNotMatch(page, /Envio à API do Rubeus/)
  })
})
