/** Alerts to a chat channel, against a receiver on 127.0.0.1: when a message goes, what it says, what it never says. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { buildApp, type App } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import { explain, plain } from '../../src/ops/wording.js'
import { applicationEvent, cli, CONSOLE_PASSWORD, FEED_TOKEN, freePort, logSink, person, poll, postDelivery, SECRET, startService, tempDir, testConfig, type Person } from '../helper.js'
import { RUBEUS_ORIGEM, RUBEUS_TOKEN, rubeusStandIn } from '../rubeus-stand-in.js'

const MINUTE = 60_000
const HOUR = 3_600_000
/** The parts of a chat's webhook address that are its secret. */
const SECRET_PATH = 'T0SECRET/B0SECRET/xoxSECRETpart'
const SECRET_QUERY = 'SECRETtoken'

type Answer = 'ok' | 'fail' | 'hang'

/** A chat's incoming webhook: records every request; answers 200 "ok", 500, or never. */
async function receiver (t: TestContext, answer: Answer = 'ok') {
  const received: Array<{ path: string, contentType: string | undefined, body: Record<string, unknown> }> = []
  const waiting: ServerResponse[] = []
  let arrived: () => void = () => {}
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = ''
    req.setEncoding('utf8').on('data', (chunk: string) => { data += chunk }).on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(data) })
      arrived()
      if (state.answer === 'hang') waiting.push(res)
      else if (state.answer === 'fail') res.writeHead(500).end('rollup_error')
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const res of waiting) res.destroy()
    server.closeAllConnections()
    server.close()
  })
  const state = {
    answer,
    received,
    texts: () => received.map((r) => String(r.body.text)),
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/${SECRET_PATH}?token=${SECRET_QUERY}`,
    /** Resolves when the next request has arrived. */
    next: () => new Promise<void>((resolve) => { arrived = resolve })
  }
  return state
}

interface AlertApp { app: App, clock: { offset: number }, dir: string }

/** The service with alerts to `url`, on a database in `dir`; its clock is real time plus `clock.offset`. */
async function alertApp (t: TestContext, url: string, env: Record<string, string> = {}, dir = tempDir(t), logs?: ReturnType<typeof logSink>): Promise<AlertApp> {
  const clock = { offset: 0 }
  const config = testConfig(dir, { ALERT_WEBHOOK_URL: url, ALERT_CHECK_SECONDS: '3600', PUBLIC_URL: 'https://bridge.example.com', ...env })
  const app = await buildApp({
    config,
    logger: logs === undefined ? undefined : createLogger('info', logs.stream),
    alerts: { now: () => Date.now() + clock.offset, retryDelayMs: 5 }
  })
  t.after(() => app.close())
  await app.ready()
  await app.alerter!.check() // the start-up check
  return { app, clock, dir }
}

async function checkAt ({ app, clock }: AlertApp, offsetMs: number): Promise<void> {
  clock.offset = offsetMs
  app.mapper.catchUp()
  await app.alerter!.check()
}

/** A candidate with a CPF but neither phone nor e-mail: the contact is held back. */
const held = (p: Person, id: string) => applicationEvent(p, { id, date: new Date(), step: 'Cadastro', candidate: { email: null, mobileNumber: null, phoneNumber: null } })
/** The same candidate later, with an e-mail: the contact goes out. */
const completed = (p: Person, id: string) => applicationEvent(p, { id, date: new Date(Date.now() + 1000), step: 'Entrevista', previous: 'Cadastro' })
/** Neither a valid CPF nor an e-mail: the mapping fails. */
const unmappable = (p: Person, id: string) => applicationEvent(p, { id, date: new Date(), step: 'Cadastro', candidate: { identificationDocument: '111', email: null } })

function personalValues (p: Person): string[] {
  return [p.cpf, `${p.cpf.slice(0, 3)}.${p.cpf.slice(3, 6)}.${p.cpf.slice(6, 9)}-${p.cpf.slice(9)}`, p.email, p.first, p.last, String(p.n).padStart(8, '0')]
}

async function sentTotal (app: App, result: 'sent' | 'failed'): Promise<number> {
  const text = (await app.inject('/metrics')).body
  const line = text.split('\n').find((l) => l.startsWith(`bridge_alerts_sent_total{result="${result}"}`))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

describe('alerts', () => {
  test('a held contact is said once after ALERT_AFTER_MINUTES, with no personal data; not again while it lasts; once when it clears', async (t) => {
    const chat = await receiver(t)
    const service = await alertApp(t, chat.url)
    const { app } = service
    const p = person(4001)
    assert.equal((await postDelivery(app, held(p, 'alert-held-1'))).statusCode, 200)

    await checkAt(service, 0)
    await checkAt(service, 9 * MINUTE)
    assert.equal(chat.received.length, 0, 'nothing before ALERT_AFTER_MINUTES')

    await checkAt(service, 10 * MINUTE)
    assert.equal(chat.received.length, 1)
    const [message] = chat.received
    assert.deepEqual(Object.keys(message!.body), ['text'])
    assert.match(String(message!.contentType), /^application\/json/)
    assert.equal(message!.path, `/services/${SECRET_PATH}?token=${SECRET_QUERY}`)
    const text = chat.texts()[0]!
    assert.match(text, /^⚠️ bridge\.example\.com: Contatos retidos por falta de dados: 1\.\nPróximo passo: Saem sozinhos quando uma entrega da Gupy completar os dados/)
    assert.match(text, /\n\n⚠️ bridge\.example\.com: mudanca-de-etapa: eventos esperando que seu contato saia no feed de contatos: 1\./) // its event waits too: same message
    assert.match(text, /\n\nConsole: https:\/\/bridge\.example\.com\/console$/)
    for (const value of personalValues(p)) assert.ok(!text.includes(value), `${value} must not be in the message`)

    for (const at of [11 * MINUTE, 2 * HOUR, 23 * HOUR]) await checkAt(service, at)
    assert.equal(chat.received.length, 1, 'no second message while it lasts, within ALERT_REPEAT_HOURS')

    assert.equal((await postDelivery(app, completed(p, 'alert-held-2'))).statusCode, 200)
    app.mapper.catchUp()
    assert.equal((await poll(app, 'contatos')).statusCode, 200) // the contact goes out; its event no longer waits
    await checkAt(service, 23 * HOUR + MINUTE)
    assert.equal(chat.received.length, 2)
    const cleared = chat.texts()[1]!
    assert.match(cleared, /^✅ bridge\.example\.com: resolvido depois de 23 h: Contatos retidos por falta de dados: 1\./)
    assert.match(cleared, /✅ bridge\.example\.com: resolvido depois de 23 h: mudanca-de-etapa: eventos esperando/)
    for (const value of personalValues(p)) assert.ok(!cleared.includes(value), `${value} must not be in the message`)

    await checkAt(service, 30 * HOUR)
    assert.equal(chat.received.length, 2, 'a cleared finding is said cleared once')
    assert.equal(await sentTotal(app, 'sent'), 2)
    assert.equal(await sentTotal(app, 'failed'), 0)
  })

  test('a failed mapping is said at the next check with ALERT_AFTER_MINUTES=0, and again every ALERT_REPEAT_HOURS while it lasts', async (t) => {
    const chat = await receiver(t)
    const service = await alertApp(t, chat.url, { ALERT_AFTER_MINUTES: '0', ALERT_REPEAT_HOURS: '2' })
    const p = person(4002)
    assert.equal((await postDelivery(service.app, unmappable(p, 'alert-failed-1'))).statusCode, 200)
    await checkAt(service, 0)
    assert.equal(chat.received.length, 1)
    assert.match(chat.texts()[0]!, /^⚠️ bridge\.example\.com: Entregas que não puderam ser mapeadas: 1\.\nPróximo passo: .*`gupy-rubeus-bridge reprocess`/)
    await checkAt(service, 2 * HOUR - MINUTE)
    assert.equal(chat.received.length, 1)
    await checkAt(service, 2 * HOUR)
    assert.equal(chat.received.length, 2)
    assert.match(chat.texts()[1]!, /^⚠️ bridge\.example\.com: continua há 2 h: Entregas que não puderam ser mapeadas: 1\./)
    await checkAt(service, 3 * HOUR)
    assert.equal(chat.received.length, 2, 'never more often than ALERT_REPEAT_HOURS')
    for (const text of chat.texts()) for (const value of personalValues(p)) assert.ok(!text.includes(value))
  })

  test('a finding gone before ALERT_AFTER_MINUTES pages nobody, and info notes are never alerted', async (t) => {
    const chat = await receiver(t)
    const service = await alertApp(t, chat.url) // a new install: Rubeus never polled (a note)
    const p = person(4003)
    await postDelivery(service.app, held(p, 'alert-brief-1'))
    await checkAt(service, 0)
    await postDelivery(service.app, completed(p, 'alert-brief-2'))
    service.app.mapper.catchUp()
    await poll(service.app, 'contatos')
    for (const at of [5 * MINUTE, 10 * MINUTE, 2 * HOUR]) await checkAt(service, at)
    const report = await service.app.serviceStatus(Date.now() + 2 * HOUR)
    assert.ok(report.verdict.reasons.some((r) => r.code === 'feed-never-polled'), 'a note is present')
    assert.equal(chat.received.length, 0)
  })

  test('a new install pages nobody in its first hour: no delivery yet is a note, then a warning said after ALERT_AFTER_MINUTES', async (t) => {
    const chat = await receiver(t)
    const service = await alertApp(t, chat.url)
    const noDeliveries = async (offset: number) =>
      (await service.app.serviceStatus(Date.now() + offset)).verdict.reasons.find((r) => r.code === 'no-deliveries')?.severity
    assert.equal(await noDeliveries(0), 'info')
    for (const at of [10 * MINUTE, 59 * MINUTE]) await checkAt(service, at)
    assert.equal(chat.received.length, 0)
    assert.equal(await noDeliveries(61 * MINUTE), 'warning')
    await checkAt(service, 61 * MINUTE)
    assert.equal(chat.received.length, 0, 'a warning too waits ALERT_AFTER_MINUTES')
    await checkAt(service, 71 * MINUTE)
    assert.equal(chat.received.length, 1)
    assert.match(chat.texts()[0]!, /^⚠️ bridge\.example\.com: Nenhuma entrega da Gupy recebida ainda\.\nPróximo passo: Cadastre as assinaturas com `gupy-rubeus-bridge register-webhooks`/)
  })

  test('a restart neither says an announced finding again nor forgets to say that it cleared', async (t) => {
    const chat = await receiver(t)
    const dir = tempDir(t)
    const p = person(4004)
    const first = await alertApp(t, chat.url, { ALERT_AFTER_MINUTES: '0' }, dir)
    await postDelivery(first.app, held(p, 'alert-restart-1'))
    await checkAt(first, 0)
    assert.equal(chat.received.length, 1)
    await first.app.close()

    const again = await alertApp(t, chat.url, { ALERT_AFTER_MINUTES: '0' }, dir) // its start-up check ran
    await checkAt(again, MINUTE)
    assert.equal(chat.received.length, 1, 'no second announcement after a restart')
    await again.app.close()

    // While the alerts did not watch (here: the service ran without ALERT_WEBHOOK_URL), it cleared.
    const unwatched = await buildApp({ config: testConfig(dir) })
    await postDelivery(unwatched, completed(p, 'alert-restart-2'))
    unwatched.mapper.catchUp()
    await poll(unwatched, 'contatos')
    await unwatched.close()

    const last = await alertApp(t, chat.url, { ALERT_AFTER_MINUTES: '0' }, dir)
    assert.equal(chat.received.length, 2, 'the start-up check says it cleared')
    assert.match(chat.texts()[1]!, /^✅ bridge\.example\.com: resolvido depois de .*: Contatos retidos por falta de dados: 1\./)
    await checkAt(last, MINUTE)
    assert.equal(chat.received.length, 2)
  })

  test('push delivery: records Rubeus refused, then a backlog older than 15 minutes, each said with Rubeus\'s reason and its next step', async (t) => {
    const rubeus = await rubeusStandIn(t, { eventTypes: [] }) // no event type in the tenant: Evento/cadastro is refused
    const chat = await receiver(t)
    const service = await alertApp(t, chat.url, {
      ALERT_AFTER_MINUTES: '0',
      RUBEUS_DELIVERY: 'push',
      RUBEUS_API_URL: rubeus.url,
      RUBEUS_API_TOKEN: RUBEUS_TOKEN,
      RUBEUS_ORIGEM,
      RUBEUS_BASE_LEGAL: '3'
    })
    const { app } = service
    const until = async (check: () => boolean) => {
      for (const deadline = Date.now() + 10_000; !check(); await new Promise((resolve) => setTimeout(resolve, 10))) {
        if (Date.now() > deadline) assert.fail('timed out waiting for the pusher')
      }
    }
    const p = person(4301)
    const q = person(4302)
    assert.equal((await postDelivery(app, applicationEvent(p, { id: 'alert-push-1', event: 'application.created', date: new Date(), step: 'Cadastro' }))).statusCode, 200)
    await until(() => app.store.push.counts().parked === 1)
    await checkAt(service, 0)
    assert.equal(chat.received.length, 1)
    assert.match(chat.texts()[0]!, /^🔴 bridge\.example\.com: candidatura: registros recusados pela Rubeus, parados: 1 \(motivo: Rubeus refused Evento\/cadastro \(success: false\): Tipo de evento não encontrado\)\. .*\nPróximo passo: Corrija a causa \(`gupy-rubeus-bridge check-rubeus` .*`gupy-rubeus-bridge retry-parked --feed candidatura`\.\n\nConsole: /)

    rubeus.failAll(503)
    assert.equal((await postDelivery(app, applicationEvent(q, { id: 'alert-push-2', event: 'application.created', date: new Date(), step: 'Cadastro' }))).statusCode, 200)
    await until(() => app.store.push.counts().retrying > 0)
    await checkAt(service, 14 * MINUTE)
    assert.equal(chat.received.length, 1, 'a push under way for 14 minutes is no backlog yet')
    await checkAt(service, 16 * MINUTE)
    assert.equal(chat.received.length, 2)
    assert.match(chat.texts()[1]!, /^🔴 bridge\.example\.com: Registros esperando há mais de 15 minutos para ir à Rubeus: 2\. Última falha: Rubeus answered 503 on Contato\/dadosPessoa, attempt \d+\.\nPróximo passo: Confira se a Rubeus responde com `gupy-rubeus-bridge check-rubeus`/)
    for (const text of chat.texts()) {
      for (const value of [...personalValues(p), ...personalValues(q), RUBEUS_TOKEN]) assert.ok(!text.includes(value), `${value} must not be in the message`)
    }
  })

  test('a chat answering 500 is retried, logged and counted without the address\'s secret, and tried again at the next check', async (t) => {
    const chat = await receiver(t, 'fail')
    const logs = logSink()
    const service = await alertApp(t, chat.url, { ALERT_AFTER_MINUTES: '0' }, undefined, logs)
    const p = person(4005)
    assert.equal((await postDelivery(service.app, unmappable(p, 'alert-500-1'))).statusCode, 200)
    await checkAt(service, 0)
    assert.equal(chat.received.length, 4, 'four attempts')
    assert.equal(await sentTotal(service.app, 'failed'), 1)
    const line = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('alert not delivered'))
    assert.equal(line.host, new URL(chat.url).host)
    assert.equal(line.reason, `${new URL(chat.url).host} answered 500 (rollup_error)`)
    assert.ok(!logs.text().includes('SECRET'), 'no part of the address but its host is logged')

    chat.answer = 'ok'
    await checkAt(service, MINUTE)
    assert.equal(chat.received.length, 5)
    assert.match(chat.texts()[4]!, /Entregas que não puderam ser mapeadas: 1\./)
    assert.equal(await sentTotal(service.app, 'sent'), 1)
  })

  test('a chat that never answers holds up no webhook, feed or console answer, and the service still closes', async (t) => {
    const chat = await receiver(t, 'hang')
    const service = await alertApp(t, chat.url, { ALERT_AFTER_MINUTES: '0' })
    const { app } = service
    await postDelivery(app, unmappable(person(4006), 'alert-hang-0'))
    app.mapper.catchUp()
    const arrived = chat.next()
    let settled = false
    const checking = app.alerter!.check().finally(() => { settled = true })
    await arrived // the post is under way, and its answer never comes

    for (let i = 1; i <= 20; i++) {
      const res = await postDelivery(app, applicationEvent(person(4100 + i), { id: `alert-hang-${i}`, date: new Date(), step: 'Cadastro' }))
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().status, 'accepted')
    }
    app.mapper.catchUp()
    const batch = await poll(app, 'contatos')
    assert.equal(batch.statusCode, 200)
    assert.equal(batch.json().length, 20)
    assert.equal((await app.inject('/healthz')).statusCode, 200)
    assert.equal((await app.inject({ url: '/console/status.json', headers: { authorization: `Basic ${Buffer.from('operator:console-password-0123456789').toString('base64')}` } })).statusCode, 200)
    assert.equal(settled, false, 'every answer above came while the alert was still waiting for the chat')
    assert.equal(chat.received.length, 1)

    await app.close() // stops the post under way
    await checking
  })

  test('the running service: while its chat never answers, webhooks and feeds answer over HTTP, and SIGTERM still stops it at once', async (t) => {
    const chat = await receiver(t, 'hang')
    const dir = tempDir(t)
    const service = await startService(t, {
      DATABASE_PATH: `${dir}/bridge.sqlite`,
      GUPY_WEBHOOK_SECRETS: SECRET,
      RUBEUS_FEED_TOKENS: FEED_TOKEN,
      CONSOLE_PASSWORD,
      FEED_SETTLE_SECONDS: '0',
      PUBLIC_URL: 'https://bridge.example.com',
      ALERT_WEBHOOK_URL: chat.url,
      ALERT_CHECK_SECONDS: '1',
      ALERT_AFTER_MINUTES: '0'
    })
    const webhook = async (body: unknown) => {
      const res = await request(`${service.url}/webhooks/gupy`, {
        method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
      })
      return { status: res.statusCode, body: await res.body.json() as { status: string } }
    }
    const arrived = chat.next()
    assert.equal((await webhook(unmappable(person(4200), 'alert-process-0'))).status, 200)
    await arrived // the service is posting the alert; the chat holds the request open

    for (let i = 1; i <= 20; i++) {
      const res = await webhook(applicationEvent(person(4200 + i), { id: `alert-process-${i}`, date: new Date(), step: 'Cadastro' }))
      assert.deepEqual([res.status, res.body.status], [200, 'accepted'])
    }
    const feed = await request(`${service.url}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
    assert.equal(feed.statusCode, 200)
    assert.equal((await feed.body.json() as unknown[]).length, 20)
    assert.equal(chat.received.length, 1, 'one post, still waiting for its answer')
    assert.match(chat.texts()[0]!, /Entregas que não puderam ser mapeadas: 1\./)

    const exit = await service.stop('SIGTERM', 8000) // well inside the 10 s an attempt may wait
    assert.equal(exit.code, 0)
    assert.ok(!(service.stdout() + service.stderr()).includes('SECRET'), 'the address\'s secret is in no log line')
  })

  test('alert-test exits 0 when the chat accepts, 1 when it refuses or cannot be reached, 2 without an address; never prints the secret', async (t) => {
    const dir = tempDir(t)
    const env = (url?: string) => ({ DATABASE_PATH: `${dir}/bridge.sqlite`, PUBLIC_URL: 'https://bridge.example.com', LOG_LEVEL: 'silent', ALERT_WEBHOOK_URL: url ?? '' })
    const chat = await receiver(t)
    const ok = await cli(['alert-test'], env(chat.url))
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, `accepted by ${new URL(chat.url).host} (200)\n`)
    assert.equal(chat.received.length, 1)
    assert.match(chat.texts()[0]!, /^🔔 bridge\.example\.com: mensagem de teste/)
    assert.match(chat.texts()[0]!, /Console: https:\/\/bridge\.example\.com\/console$/)

    chat.answer = 'fail'
    const refused = await cli(['alert-test'], env(chat.url))
    assert.equal(refused.code, 1)
    assert.equal(refused.stderr, `not accepted: ${new URL(chat.url).host} answered 500 (rollup_error)\n`)
    assert.equal(chat.received.length, 2, 'one attempt: the test says at once what the chat answered')

    const nobody = `http://127.0.0.1:${await freePort()}/services/${SECRET_PATH}`
    const unreachable = await cli(['alert-test'], env(nobody))
    assert.equal(unreachable.code, 1)
    assert.match(unreachable.stderr, /^not accepted: could not reach 127\.0\.0\.1:\d+: ECONNREFUSED\n$/)

    const unset = await cli(['alert-test'], env())
    assert.equal(unset.code, 2)
    assert.match(unset.stderr, /set ALERT_WEBHOOK_URL/)
    for (const r of [ok, refused, unreachable, unset]) assert.ok(!(r.stdout + r.stderr).includes('SECRET'))
  })

  test('every finding is worded without &, < or > (Slack would read them as markup); one not worded yet is said in the verdict\'s English', () => {
    const feeds = [{ feed: 'contatos', path: '/rubeus/contatos' }]
    const codes = ['no-deliveries', 'deliveries-quiet', 'mapping-stalled', 'mapping-failures', 'contacts-held', 'feed-not-polled', 'feed-never-polled',
      'waiting-for-contact', 'batch-aborted', 'watchdog-not-configured', 'subscriptions-broken', 'reconciliation-failed', 'deliveries-rejected',
      'push-parked', 'push-backlog']
    for (const code of codes) {
      // Rubeus's reason is its own words: markup in it is not said as markup either.
      const { text, next } = explain({ severity: 'warning', code, message: 'English', feed: 'contatos', count: 1234, detail: 'a <!channel> & <b>' }, feeds)
      assert.notEqual(plain(text), 'contatos: English', `${code} has Portuguese words`)
      assert.doesNotMatch(plain(text) + plain(next), /[&<>]/, code)
    }
    const later = explain({ severity: 'warning', code: 'pushes-parked', message: 'pushes are parked', feed: 'contatos', count: 3 }, feeds)
    assert.equal(plain(later.text), 'contatos: pushes are parked')
    assert.deepEqual(later.next, [])
  })

  test('configuration: defaults, limits, and an invalid address refused without echoing it', () => {
    const base = { DATABASE_PATH: '/tmp/x.sqlite' }
    const config = loadConfig(base)
    assert.equal(config.ALERT_WEBHOOK_URL, undefined)
    assert.deepEqual([config.ALERT_CHECK_SECONDS, config.ALERT_AFTER_MINUTES, config.ALERT_REPEAT_HOURS], [60, 10, 24])
    assert.equal(loadConfig({ ...base, ALERT_AFTER_MINUTES: '0' }).ALERT_AFTER_MINUTES, 0)
    assert.throws(() => loadConfig({ ...base, ALERT_CHECK_SECONDS: '0' }), /ALERT_CHECK_SECONDS/)
    assert.throws(() => loadConfig({ ...base, ALERT_REPEAT_HOURS: '0' }), /ALERT_REPEAT_HOURS/)
    assert.throws(() => loadConfig({ ...base, ALERT_WEBHOOK_URL: 'ftp://hooks.example.com/SECRETpath' }), (err: Error) => {
      assert.match(err.message, /ALERT_WEBHOOK_URL: must be an http\(s\) URL/)
      assert.ok(!err.message.includes('SECRET'))
      return true
    })
  })
})
