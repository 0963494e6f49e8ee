/**
 * Rubeus's CRM API client against the stand-in over a real socket: the documented calls, retries of
 * what may cure itself (5xx, 429, outages, hangs, dropped connections), refusals in Rubeus's words
 * (trimmed, personal data masked), pacing under the budget, and a token that never shows.
 */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Agent } from 'undici'
import { createLogger } from '../../src/logger.js'
import { RubeusUnavailableError, createRubeusApi, type Outcome, type RubeusApiOptions } from '../../src/rubeus/api.js'
import { logSink } from '../helper.js'
import { DOCUMENTED, RUBEUS_ORIGEM, RUBEUS_TOKEN, rubeusStandIn, type RubeusStandIn } from '../rubeus-stand-in.js'

/** A client of the stand-in on its own dispatcher, unpaced, with a short backoff; retries recorded. */
function client (t: TestContext, rubeus: { url: string }, options: Partial<RubeusApiOptions> = {}) {
  const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 })
  t.after(() => dispatcher.close())
  const retries: Array<{ ms: number, why: string }> = []
  const api = createRubeusApi({
    baseUrl: `${rubeus.url}/`,
    origem: RUBEUS_ORIGEM,
    token: RUBEUS_TOKEN,
    dispatcher,
    requestsPerMinute: 0,
    timeoutMs: 5000,
    backoffBaseMs: 5,
    backoffMaxMs: 40,
    onRetry: (ms, why) => { retries.push({ ms, why }) },
    ...options
  })
  return { api, retries }
}

/** The documented request of a method, without the channel's fields (the client adds them). */
function documented (method: string): Record<string, unknown> {
  const { origem: _origem, token: _token, ...fields } = DOCUMENTED[method]!.request
  return fields
}

const refused = (outcome: Outcome) => {
  assert.equal(outcome.ok, false, JSON.stringify(outcome))
  return (outcome as { refused: string }).refused
}

describe('documented calls', () => {
  test('POST <RUBEUS_API_URL>/api/<Method> with origem (a number) and token in the body and no auth header; success gives dados', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const { api } = client(t, rubeus)
    const created = await api.call('Contato/cadastro', documented('Contato/cadastro'))
    assert.equal(created.ok, true)
    assert.equal(typeof (created as { data: unknown }).data, 'number', 'dados is the contact\'s Rubeus id')
    const [call] = rubeus.calls
    assert.equal(call?.http, 'POST')
    assert.equal(call?.method, 'Contato/cadastro')
    assert.equal(call?.body.origem, Number(RUBEUS_ORIGEM))
    assert.equal(call?.body.token, RUBEUS_TOKEN)
    assert.equal(call?.body.codigo, 'contato-1')
    assert.equal(call?.headers.authorization, undefined)
    assert.match(String(call?.headers['content-type']), /^application\/json/)
    assert.deepEqual(Object.keys(call?.query ?? {}), [], 'no query on a POST: the token stays in the body')

    const found = await api.call('Contato/dadosPessoa', { codigo: 'contato-1' })
    assert.equal(found.ok && (found.data as { id: string }).id, String((created as { data: unknown }).data))
  })

  test('methods that answer {success, id} give the id; {resultado: {success, dados}} is unwrapped; the LGPD lists are GETs', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const { api } = client(t, rubeus)
    const type = await api.call('Evento/cadastroTipoEvento', documented('Evento/cadastroTipoEvento'))
    assert.ok(type.ok)
    assert.equal(typeof type.data, 'number')
    assert.equal(type.answer.id, type.data)

    const bases = await api.call('Lgpd/listarBasesLegais')
    assert.ok(bases.ok)
    assert.deepEqual(bases.data, DOCUMENTED['Lgpd/listarBasesLegais']!.response.dados)
    const get = rubeus.callsTo('Lgpd/listarBasesLegais')[0]
    assert.equal(get?.http, 'GET')
    assert.deepEqual(get?.query, { origem: RUBEUS_ORIGEM, token: RUBEUS_TOKEN }, 'Rubeus does not say where a GET carries them: the query…')
    assert.equal(get?.body.token, RUBEUS_TOKEN, '…and a body')

    rubeus.fail({ status: 200, body: JSON.stringify({ resultado: { success: true, dados: [{ id: '79', titulo: 'Acrelândia - AC' }] } }) })
    const cities = await api.call('Contato/listarCidade')
    assert.ok(cities.ok)
    assert.deepEqual(cities.data, [{ id: '79', titulo: 'Acrelândia - AC' }])
  })
})

describe('what may cure itself is tried again', () => {
  test('500, 502, 503 and 408 are tried again with a doubling, jittered backoff told through onRetry; the write happens once', async (t) => {
    const rubeus = await rubeusStandIn(t)
    for (const status of [500, 502, 503, 408]) rubeus.fail({ status, body: 'oops' }, { method: 'Contato/cadastro' })
    const { api, retries } = client(t, rubeus, { random: () => 0, backoffBaseMs: 5, backoffMaxMs: 1000 })
    const outcome = await api.call('Contato/cadastro', documented('Contato/cadastro'))
    assert.equal(outcome.ok, true)
    assert.equal(rubeus.callsTo('Contato/cadastro').length, 5)
    assert.equal(rubeus.contacts.size, 1)
    assert.deepEqual(retries.map((r) => r.ms), [5, 10, 20, 40], 'from the base, doubling')
    assert.deepEqual(retries.map((r) => r.why), [
      'Rubeus answered 500 on Contato/cadastro, attempt 1',
      'Rubeus answered 502 on Contato/cadastro, attempt 2',
      'Rubeus answered 503 on Contato/cadastro, attempt 3',
      'Rubeus answered 408 on Contato/cadastro, attempt 4'
    ])
  })

  test('the backoff is capped at its maximum (60 s unless told) and jittered by at most a quarter, never above the cap', async (t) => {
    const rubeus = await rubeusStandIn(t)
    rubeus.fail({ status: 503 }, { times: 9 })
    const slept: number[] = []
    let turn = 0
    const { api, retries } = client(t, rubeus, { backoffBaseMs: undefined, backoffMaxMs: undefined, random: () => [1, 0.5, 0][turn++ % 3]!, sleep: async (ms) => { slept.push(ms) } })
    assert.equal((await api.call('Evento/listarTipoEvento')).ok, true)
    assert.deepEqual(slept, [750, 1750, 4000, 6000, 14000, 32000, 45000, 52500, 60000])
    assert.deepEqual(retries.map((r) => r.ms), slept)
  })

  test('a 429 is waited out: Retry-After when it asks longer than the backoff, never past the cap', async (t) => {
    const rubeus = await rubeusStandIn(t)
    rubeus.fail({ status: 429, headers: { 'retry-after': '3' } })
    rubeus.fail({ status: 429 })
    rubeus.fail({ status: 429, headers: { 'retry-after': '600' } })
    const slept: number[] = []
    const { api, retries } = client(t, rubeus, { random: () => 0, backoffBaseMs: 1000, backoffMaxMs: 60_000, sleep: async (ms) => { slept.push(ms) } })
    assert.equal((await api.call('Evento/listarTipoEvento')).ok, true)
    assert.deepEqual(slept, [3000, 2000, 60_000])
    assert.match(retries[0]!.why, /^Rubeus's rate limit \(429\) on Evento\/listarTipoEvento, attempt 1$/)
  })

  test('an outage of several seconds (connections refused, then 503s) is waited out, then the call is made', { timeout: 60_000 }, async (t) => {
    const rubeus = await rubeusStandIn(t)
    const { api, retries } = client(t, rubeus, { backoffBaseMs: 50, backoffMaxMs: 400 })
    const outage = rubeus.down(2500)
    const first = await api.call('Contato/cadastro', documented('Contato/cadastro'))
    await outage
    assert.equal(first.ok, true)
    assert.ok(retries.length >= 4, `${retries.length} retries`)
    assert.ok(retries.every((r) => /^Rubeus could not be reached \(ECONNREFUSED\) on Contato\/cadastro, attempt \d+$/.test(r.why)), JSON.stringify(retries))
    assert.ok(retries.every((r) => r.ms <= 400), 'never longer than the cap')

    retries.length = 0
    rubeus.failAll(503)
    const later = setTimeout(() => rubeus.recover(), 2000)
    t.after(() => clearTimeout(later))
    const second = await api.call('Contato/cadastro', { ...documented('Contato/cadastro'), id: (first as { data: number }).data })
    assert.equal(second.ok, true)
    assert.ok(retries.length >= 4 && retries.every((r) => r.why.startsWith('Rubeus answered 503')), JSON.stringify(retries))
    assert.equal(rubeus.contacts.size, 1, 'the update went to the same contact')
  })

  test('a hang and an answer that trickles in are cut off at the deadline and tried again; a connection dropped before or after the write is tried again', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const { api, retries } = client(t, rubeus, { timeoutMs: 300 })
    await api.call('Contato/cadastro', documented('Contato/cadastro'))
    const [id] = rubeus.contacts.keys()
    rubeus.fail({ hang: true })
    rubeus.fail({ trickle: true })
    rubeus.fail({ drop: 'before' })
    rubeus.fail({ drop: 'after' })
    const event = { ...documented('Evento/cadastro'), codTipo: 'CADASTRO', pessoa: { id } }
    const outcome = await api.call('Evento/cadastro', event)
    assert.equal(outcome.ok, true)
    assert.equal(rubeus.callsTo('Evento/cadastro').length, 5)
    assert.match(retries[0]!.why, /^Rubeus gave no whole answer within 0\.3 s \(RUBEUS_API_TIMEOUT_SECONDS\) on Evento\/cadastro, attempt 1$/)
    assert.match(retries[1]!.why, /^Rubeus gave no whole answer within 0\.3 s \(RUBEUS_API_TIMEOUT_SECONDS\) on Evento\/cadastro, attempt 2$/, 'an answer that trickles in is cut off too')
    assert.match(retries[2]!.why, /^Rubeus could not be reached \((UND_ERR_SOCKET|ECONNRESET)\) on Evento\/cadastro, attempt 3$/)
    assert.equal(rubeus.events.size, 1, 'the event\'s codigo made the retry an edit, not a second event')
  })

  test('with attempts limited, RubeusUnavailableError says what failed and how often; attempts: 1 never repeats a creation', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const { api } = client(t, rubeus, { attempts: 3 })
    rubeus.failAll(503)
    await assert.rejects(api.call('Evento/listarTipoEvento'), (err: Error) =>
      err instanceof RubeusUnavailableError && err.message === 'Rubeus answered 503 on Evento/listarTipoEvento, 3 attempt(s)')
    assert.equal(rubeus.calls.length, 3)
    rubeus.recover()

    rubeus.fail({ drop: 'after' })
    await assert.rejects(api.call('Evento/cadastroTipoEvento', documented('Evento/cadastroTipoEvento'), { attempts: 1 }), RubeusUnavailableError)
    assert.equal(rubeus.callsTo('Evento/cadastroTipoEvento').length, 1)
    assert.equal(rubeus.eventTypes.filter((e) => e.codigo === 'primeira-etapa').length, 1, 'applied once, answer lost, not repeated')
  })

  test('an abort stops the retries at once', async (t) => {
    const rubeus = await rubeusStandIn(t)
    rubeus.failAll(503)
    const aborter = new AbortController()
    const { api } = client(t, rubeus, { signal: aborter.signal, backoffBaseMs: 60_000, backoffMaxMs: 60_000, onRetry: () => aborter.abort() })
    await assert.rejects(api.call('Evento/listarTipoEvento'), { name: 'AbortError' })
    assert.equal(rubeus.calls.length, 1)
    const other = new AbortController()
    other.abort()
    await assert.rejects(client(t, rubeus).api.call('Evento/listarTipoEvento', {}, { signal: other.signal }), { name: 'AbortError' })
  })
})

describe('refusals, in Rubeus\'s words', () => {
  const cases: Array<[string, Parameters<RubeusStandIn['fail']>[0], RegExp]> = [
    ['success: false with a message', { status: 200, body: JSON.stringify({ success: false, message: 'O e-mail maria.souza@example.com já pertence a outro contato' }) },
      /^Rubeus refused Contato\/cadastro \(success: false\): O e-mail \[e-mail\] já pertence a outro contato$/],
    ['erro: [{erro}, {mensagem}]', { status: 200, body: JSON.stringify({ success: false, erro: [{ erro: 'CPF 529.982.247-25 inválido' }, { mensagem: 'Telefone +55 (11) 98765-4321 inválido' }] }) },
      /^Rubeus refused Contato\/cadastro \(success: false\): CPF \[CPF\] inválido; Telefone \[number\] inválido$/],
    ['errors by field, with a 422', { status: 422, body: JSON.stringify({ errors: { emailPrincipal: ['O campo é obrigatório'], cep: 'CEP inválido' } }) },
      /^Rubeus refused Contato\/cadastro \(HTTP 422\): emailPrincipal: O campo é obrigatório; cep: CEP inválido$/],
    ['mensagem', { status: 400, body: JSON.stringify({ success: false, mensagem: 'Base legal não encontrada' }) },
      /^Rubeus refused Contato\/cadastro \(HTTP 400\): Base legal não encontrada$/],
    ['a 4xx JSON body without a reason, personal fields masked', { status: 400, body: JSON.stringify({ success: false, dados: { nome: 'Maria Souza', emailPrincipal: 'maria@example.com' } }) },
      /^Rubeus refused Contato\/cadastro \(HTTP 400\): \{"success":false,"dados":\{"nome":"\[name\]","emailPrincipal":"\[masked\]"\}\}$/],
    ['a 2xx without success: true', { status: 200, body: JSON.stringify({ dados: 10 }) },
      /^Rubeus refused Contato\/cadastro \(no success: true\): no reason given$/],
    ['plain text with a 400', { status: 400, body: 'Token inválido para maria@example.com\n\n' },
      /^Rubeus refused Contato\/cadastro \(HTTP 400\): Token inválido para \[e-mail\]$/],
    ['an HTML page with a 404', { html: 404 },
      /^Rubeus answered Contato\/cadastro with an HTML page \(\d+ bytes, text\/html;charset=utf-8\) \(HTTP 404\), not the JSON expected$/],
    ['an HTML page with a 200', { html: 200 },
      /^Rubeus answered Contato\/cadastro with an HTML page \(\d+ bytes, text\/html;charset=utf-8\) \(HTTP 200\), not the JSON expected$/],
    ['truncated JSON with a 200', { status: 200, body: '{"success":true,"dad' },
      /^Rubeus answered Contato\/cadastro with truncated JSON \(20 bytes, application\/json\) \(HTTP 200\), not the JSON expected$/],
    ['an empty 200', { status: 200, body: '' },
      /^Rubeus answered Contato\/cadastro with an empty answer \(0 bytes, application\/json\) \(HTTP 200\), not the JSON expected$/],
    ['a JSON array with a 200', { status: 200, body: '[]' },
      /^Rubeus answered Contato\/cadastro with JSON that is not an object \(2 bytes\) \(HTTP 200\), not the JSON expected$/],
    ['a very long reason', { status: 200, body: JSON.stringify({ success: false, message: `Falhou\n${'muito '.repeat(500)}` }) },
      /^Rubeus refused Contato\/cadastro \(success: false\): Falhou muito muito .{200,300}…$/]
  ]
  for (const [what, fault, expected] of cases) {
    test(`${what}: one line, not tried again`, async (t) => {
      const rubeus = await rubeusStandIn(t)
      rubeus.fail(fault)
      const { api, retries } = client(t, rubeus)
      const reason = refused(await api.call('Contato/cadastro', documented('Contato/cadastro')))
      assert.match(reason, expected)
      assert.ok(!reason.includes('\n') && reason.length < 400, reason)
      assert.equal(rubeus.calls.length, 1)
      assert.equal(retries.length, 0)
    })
  }

  test('a wrong token or origem: the stand-in\'s refusal, as Rubeus\'s words', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const { api } = client(t, rubeus, { token: 'another-channel-token-000000' })
    assert.equal(refused(await api.call('Evento/listarTipoEvento')), 'Rubeus refused Evento/listarTipoEvento (success: false): Origem ou token inválidos')
  })

  test('a 20 MB answer is not read past 10 MB and is refused with one line', { timeout: 60_000 }, async (t) => {
    const rubeus = await rubeusStandIn(t)
    rubeus.fail({ huge: true })
    const { api } = client(t, rubeus)
    assert.equal(refused(await api.call('Evento/listarTipoEvento')), 'Rubeus\'s answer to Evento/listarTipoEvento is larger than 10 MB; it was not read further')
  })
})

describe('pacing and secrecy', () => {
  test('requests, retries included, never exceed the budget: 300 a minute is one every 200 ms, whatever the callers do', { timeout: 60_000 }, async (t) => {
    const rubeus = await rubeusStandIn(t)
    rubeus.fail({ status: 500 }, { times: 2 })
    const { api } = client(t, rubeus, { requestsPerMinute: 300 })
    // The stand-in runs in this process: its times and this one are on the same clock.
    const start = performance.now()
    const outcomes = await Promise.all(Array.from({ length: 7 }, (_, i) => api.call('Contato/cadastro', { ...documented('Contato/cadastro'), codigo: `c-${i}` })))
    assert.ok(outcomes.every((o) => o.ok))
    const times = rubeus.calls.map((c) => c.at).sort((a, b) => a - b)
    assert.equal(times.length, 9)
    // The j-th request (from 0) never arrives before j slots have passed since the first could start,
    // however late any of them was sent: at most j + 1 requests in any first j · 200 ms.
    times.forEach((at, j) => assert.ok(at - start >= j * 200 - 2, `request ${j} came ${Math.round(at - start)} ms after the start`))
  })

  test('the token is in no log line, refusal, retry reason or error, even when Rubeus echoes it', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const sink = logSink()
    const log = createLogger('info', sink.stream)
    const said: string[] = []
    const { api } = client(t, rubeus, {
      attempts: 3,
      timeoutMs: 300,
      onRetry: (waitMs, why) => { log.warn({ waitMs, why }, 'Rubeus: trying again') }
    })
    const echo = JSON.stringify({ success: false, message: `token ${RUBEUS_TOKEN} inválido`, recebido: { token: RUBEUS_TOKEN, origem: 7 } })
    rubeus.fail({ status: 200, body: echo })
    rubeus.fail({ status: 400, body: `token=${RUBEUS_TOKEN}` })
    rubeus.fail({ status: 500, body: echo })
    rubeus.fail({ hang: true })
    for (const method of ['Contato/cadastro', 'Contato/cadastro', 'Evento/listarTipoEvento', 'Lgpd/listarBasesLegais']) {
      const outcome = await api.call(method, {})
      if (!outcome.ok) said.push(outcome.refused)
      log.info({ method, outcome: outcome.ok ? 'ok' : outcome.refused }, 'Rubeus call')
    }
    rubeus.failAll(503)
    for (const method of ['Evento/listarTipoEvento', 'Lgpd/listarBasesLegais']) {
      await api.call(method).catch((err: Error) => {
        said.push(err.message, String(err), err.stack ?? '')
        log.error({ err }, 'Rubeus unavailable')
      })
    }
    await rubeus.down(0)
    const unreachable = createRubeusApi({ baseUrl: 'http://127.0.0.1:1', origem: RUBEUS_ORIGEM, token: RUBEUS_TOKEN, attempts: 1 })
    await unreachable.call('Lgpd/listarBasesLegais').catch((err: Error) => { said.push(err.message, err.stack ?? ''); log.error({ err }, 'x') })
    log.flush()
    assert.equal(said.length, 10, said.join('\n'))
    assert.ok(sink.lines.length >= 8)
    for (const text of [...said, sink.text()]) assert.ok(!text.includes(RUBEUS_TOKEN), `the token leaked:\n${text}`)
    assert.match(said[0]!, /token \[token\] inválido/)
  })
})
