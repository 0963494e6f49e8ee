/** The Rubeus feeds through inject(): auth, batches, cursor, release rules, browsing, metrics. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { FEED_TOKEN, applicationEvent, buildTestApp, person, poll, postDelivery } from '../helper.js'

const day = (d: number, h = 12) => new Date(Date.UTC(2025, 6, d, h))
const ids = (body: string) => (JSON.parse(body) as Array<{ codigo: string }>).map((c) => c.codigo)

describe('authentication and routing', () => {
  test('bearer: missing or wrong token → 401 with a challenge; unknown feed → 404', async (t) => {
    const { app } = await buildTestApp(t)
    const missing = await app.inject({ method: 'GET', url: '/rubeus/contatos' })
    assert.equal(missing.statusCode, 401)
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="rubeus-feeds"')
    assert.equal((await poll(app, 'contatos', '', 'wrong-token-0123456789')).statusCode, 401)
    const basic = await app.inject({ method: 'GET', url: '/rubeus/contatos', headers: { authorization: `Basic ${Buffer.from(`x:${FEED_TOKEN}`).toString('base64')}` } })
    assert.equal(basic.statusCode, 401)
    const unknown = await poll(app, 'nao-existe')
    assert.equal(unknown.statusCode, 404)
    assert.match(unknown.json().message, /no feed named "nao-existe"/)
  })

  test('basic: the configured user and password only', async (t) => {
    const password = 'basic-password-0123456789'
    const { app } = await buildTestApp(t, { RUBEUS_FEED_AUTH: 'basic', RUBEUS_FEED_BASIC_USER: 'rubeus', RUBEUS_FEED_BASIC_PASSWORD: password })
    const as = (user: string, pass: string) => app.inject({
      method: 'GET', url: '/rubeus/eventos/candidatura', headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` }
    })
    assert.equal((await as('rubeus', password)).statusCode, 200)
    const wrong = await as('rubeus', `${password}x`)
    assert.equal(wrong.statusCode, 401)
    assert.match(String(wrong.headers['www-authenticate']), /^Basic realm="rubeus-feeds"/)
    assert.equal((await poll(app, 'candidatura')).statusCode, 401, 'a bearer token is not accepted in basic mode')
  })

  test('none: open, by explicit choice', async (t) => {
    const { app } = await buildTestApp(t, { RUBEUS_FEED_AUTH: 'none' })
    assert.equal((await app.inject({ method: 'GET', url: '/rubeus/contatos' })).statusCode, 200)
  })

  test('an empty feed answers 200 [] as application/json', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await poll(app, 'contatos')
    assert.equal(res.statusCode, 200)
    assert.equal(res.body, '[]')
    assert.match(String(res.headers['content-type']), /^application\/json/)
    assert.equal(res.headers['x-remaining'], '0')
    assert.equal(res.headers['x-batch-id'], undefined)
  })
})

describe('only GET hands out a batch', () => {
  test('HEAD (a monitor, `curl -I`) and OPTIONS on each kind of feed move no cursor and log no batch; the next GET gets everything', async (t) => {
    const { app } = await buildTestApp(t)
    for (let n = 0; n < 3; n++) {
      await postDelivery(app, applicationEvent(person(n), { id: `h-${n}`, event: 'application.created', date: day(1, n), step: 'Cadastro' }))
    }
    const auth = { authorization: `Bearer ${FEED_TOKEN}` }
    for (const [feed, url] of [['contatos', '/rubeus/contatos'], ['candidatura', '/rubeus/eventos/candidatura']] as const) {
      const head = await app.inject({ method: 'HEAD', url, headers: auth })
      assert.equal(head.statusCode, 200, `HEAD ${url}`)
      assert.equal(head.body, '')
      assert.equal(head.headers['x-batch-id'], undefined, 'no batch is cut')
      assert.equal(head.headers['x-remaining'], '3', 'it says what is waiting')
      assert.match(String(head.headers['content-type']), /^application\/json/)
      assert.equal((await app.inject({ method: 'HEAD', url, headers: {} })).statusCode, 401, 'HEAD is authenticated like GET')
      assert.equal((await app.inject({ method: 'OPTIONS', url, headers: auth })).statusCode, 404)
      assert.deepEqual(app.store.feeds.lastBatches(feed, 10), [], 'no batch logged')

      const get = await poll(app, feed)
      assert.equal(get.statusCode, 200)
      assert.equal((JSON.parse(get.body) as unknown[]).length, 3, `GET ${url} gets every record`)
      assert.equal(get.headers['x-batch-id'] !== undefined, true)
      assert.deepEqual(app.store.feeds.lastBatches(feed, 10).map((b) => b.outcome), ['served'], 'one batch: the GET')
    }
  })
})

describe('batches and cursor', () => {
  test('2,500 contacts come out as 1000, 1000, 500, then [], each exactly once, X-Remaining counting down', async (t) => {
    const { app } = await buildTestApp(t)
    for (let n = 0; n < 2500; n++) {
      const res = await postDelivery(app, applicationEvent(person(n), { id: `c-${n}`, event: 'application.created', date: day(1, 0), step: 'Cadastro' }))
      assert.equal(res.json().status, 'accepted')
    }
    const seen = new Set<string>()
    const sizes: number[] = []
    const remaining: string[] = []
    const batchIds: string[] = []
    for (;;) {
      const res = await poll(app, 'contatos')
      assert.equal(res.statusCode, 200)
      const batch = ids(res.body)
      sizes.push(batch.length)
      remaining.push(String(res.headers['x-remaining']))
      if (batch.length === 0) break
      batchIds.push(String(res.headers['x-batch-id']))
      for (const id of batch) {
        assert.ok(!seen.has(id), `${id} served twice`)
        seen.add(id)
      }
    }
    assert.deepEqual(sizes, [1000, 1000, 500, 0])
    assert.deepEqual(remaining, ['1500', '500', '0', '0'])
    assert.equal(seen.size, 2500)
    assert.equal(new Set(batchIds).size, 3)
    const log = app.store.db.prepare('SELECT feed, count, outcome FROM feed_batches ORDER BY id').all()
    assert.deepEqual(log, [1000, 1000, 500].map((count) => ({ feed: 'contatos', count, outcome: 'served' })))
  })

  test('FEED_BATCH_SIZE bounds a batch; browsing reads any range and moves no cursor', async (t) => {
    const { app } = await buildTestApp(t, { FEED_BATCH_SIZE: '2' })
    for (let n = 0; n < 5; n++) await postDelivery(app, applicationEvent(person(n), { id: `c-${n}`, event: 'application.created', date: day(1, n), step: 'Cadastro' }))
    const first = await poll(app, 'contatos')
    assert.equal(ids(first.body).length, 2)
    // A poll releases what its batch needs: browsing reads the released records, whatever the cursor.
    const browse = await poll(app, 'contatos', '?after=0&limit=10')
    assert.deepEqual(ids(browse.body), ids(first.body))
    assert.equal(first.headers['x-remaining'], '3')
    assert.equal(browse.headers['x-cursor'], '2', 'the cursor sits after the first batch')
    const page = await poll(app, 'contatos', '?after=0&limit=1')
    assert.deepEqual(ids(page.body), ids(first.body).slice(0, 1))
    const second = await poll(app, 'contatos')
    assert.equal(ids(second.body).length, 2)
    assert.equal(new Set([...ids(first.body), ...ids(second.body)]).size, 4, 'the cursor did not move while browsing')
    const third = await poll(app, 'contatos')
    assert.deepEqual(ids((await poll(app, 'contatos', '?after=0&limit=10')).body), [...ids(first.body), ...ids(second.body), ...ids(third.body)])
    assert.equal(ids(third.body).length, 1)
    assert.equal((await poll(app, 'contatos', '?limit=5000')).statusCode, 400)
  })
})

describe('release rules', () => {
  test('events wait until their contact has been delivered', async (t) => {
    const { app } = await buildTestApp(t)
    const p = person(1)
    await postDelivery(app, applicationEvent(p, { id: 'e1', event: 'application.created', date: day(1), step: 'Cadastro' }))
    const early = await poll(app, 'candidatura')
    assert.equal(early.body, '[]')
    assert.equal(early.headers['x-remaining'], '1')
    assert.deepEqual(ids((await poll(app, 'contatos')).body), [p.cpf])
    const events = JSON.parse((await poll(app, 'candidatura')).body)
    assert.equal(events.length, 1)
    assert.equal(events[0].codContato, p.cpf)
  })

  test('records wait for FEED_SETTLE_SECONDS and are counted as remaining meanwhile', async (t) => {
    const { app } = await buildTestApp(t, { FEED_SETTLE_SECONDS: '3600' })
    await postDelivery(app, applicationEvent(person(1), { id: 'e1', event: 'application.created', date: day(1), step: 'Cadastro' }))
    const res = await poll(app, 'contatos')
    assert.equal(res.body, '[]')
    assert.equal(res.headers['x-remaining'], '1')
  })

  test('a contact changed after its delivery is queued again with the new data; an older delivery changes nothing', async (t) => {
    const { app } = await buildTestApp(t)
    const p = person(7)
    await postDelivery(app, applicationEvent(p, { id: 'a', event: 'application.created', date: day(2), step: 'Cadastro' }))
    assert.equal(JSON.parse((await poll(app, 'contatos')).body)[0].cidade, 'São Paulo')
    await postDelivery(app, applicationEvent(p, { id: 'b', date: day(3), step: 'Entrevista', candidate: { addressCity: 'Recife' } }))
    const again = JSON.parse((await poll(app, 'contatos')).body)
    assert.deepEqual(again.map((c: { codigo: string, cidade: string }) => [c.codigo, c.cidade]), [[p.cpf, 'Recife']])
    await postDelivery(app, applicationEvent(p, { id: 'c', date: day(1), step: 'Triagem', candidate: { addressCity: 'Natal' } }))
    assert.equal((await poll(app, 'contatos')).body, '[]', 'an older delivery does not overwrite newer data')
  })

  test('a candidate without CPF and e-mail fails its delivery (still 200); one without phone and e-mail is held back', async (t) => {
    const { app } = await buildTestApp(t)
    const keyless = await postDelivery(app, applicationEvent(person(1), { id: 'k', event: 'application.created', date: day(1), step: 'Cadastro', candidate: { email: null, identificationDocument: 'X1234567' } }))
    assert.equal(keyless.statusCode, 200)
    await postDelivery(app, applicationEvent(person(2), { id: 'h', event: 'application.created', date: day(1), step: 'Cadastro', candidate: { email: '', mobileNumber: null, phoneNumber: '+1 415 555 0100' } }))
    assert.equal((await poll(app, 'contatos')).body, '[]')
    assert.deepEqual(app.store.db.prepare('SELECT event_id, state, error FROM deliveries ORDER BY seq').all(), [
      { event_id: 'k', state: 'failed', error: 'the candidate has neither a valid CPF nor an e-mail' },
      { event_id: 'h', state: 'mapped', error: null }
    ])
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    assert.match(metrics, /bridge_mapping_failures_total\{reason="the candidate has neither a valid CPF nor an e-mail"\} 1/)
    assert.match(metrics, /bridge_feed_waiting_records\{feed="contatos",state="held"\} 1/)
    assert.match(metrics, /bridge_feed_waiting_records\{feed="candidatura",state="waiting_for_contact"\} 1/)
  })
})

describe('a shuffled stream with duplicates', () => {
  test('one contact per person with the newest data, one event per accepted event, in date order', async (t) => {
    const { app } = await buildTestApp(t)
    const steps = ['Cadastro', 'Triagem', 'Entrevista com RH', 'Teste <técnico> & "prático"', 'Contratação']
    const people = Array.from({ length: 40 }, (_, n) => person(n))
    const deliveries: Array<Record<string, unknown>> = []
    for (const p of people) {
      const moves = 1 + (p.n % 4) // some reach Contratação
      for (let s = 0; s <= moves; s++) {
        deliveries.push(applicationEvent(p, {
          id: `${p.n}-${s}`,
          event: s === 0 ? 'application.created' : 'application.moved',
          date: new Date(Date.UTC(2025, 6, 1) + (s * 100 + p.n) * 60_000),
          step: steps[s]!,
          previous: s === 0 ? undefined : steps[s - 1],
          candidate: { addressCity: `Cidade ${s}` }
        }))
      }
    }
    const stream = [...deliveries, ...deliveries.filter((_, i) => i % 3 === 0)] // a third delivered twice
    let seed = 7
    for (let i = stream.length - 1; i > 0; i--) { // deterministic shuffle
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      const j = seed % (i + 1);
      [stream[i], stream[j]] = [stream[j]!, stream[i]!]
    }
    const outcomes: Record<string, number> = {}
    for (const d of stream) {
      const status: string = (await postDelivery(app, d)).json().status
      outcomes[status] = (outcomes[status] ?? 0) + 1
    }
    assert.deepEqual(outcomes, { accepted: deliveries.length, duplicate: stream.length - deliveries.length })

    assert.equal((await poll(app, 'mudanca-de-etapa')).body, '[]', 'events are held until the contacts are polled')
    const contacts = JSON.parse((await poll(app, 'contatos')).body)
    assert.equal(contacts.length, people.length)
    for (const p of people) {
      const c = contacts.find((x: { codigo: string }) => x.codigo === p.cpf)
      assert.equal(c.cidade, `Cidade ${1 + (p.n % 4)}`, 'the newest delivery\'s data')
      assert.equal(c.nome, `${p.first} ${p.last}`)
    }

    const created = JSON.parse((await poll(app, 'candidatura')).body)
    const moved = JSON.parse((await poll(app, 'mudanca-de-etapa')).body)
    assert.equal(created.length, people.length)
    const expectedMoves = deliveries.filter((d) => d.event === 'application.moved' &&
      (d.data as { application: { currentStep: { name: string } } }).application.currentStep.name !== 'Contratação')
    assert.equal(moved.length, expectedMoves.length)
    const dates = moved.map((e: { data: string }) => e.data)
    assert.deepEqual(dates, [...dates].sort(), 'events come out in date order')
    assert.ok(moved.every((e: { descricao: string }) => !e.descricao.includes('<técnico>')), 'step names are escaped')
    assert.ok(moved.some((e: { descricao: string }) => e.descricao.includes('Teste &lt;técnico&gt; &amp; &quot;prático&quot;')))
    for (const feed of ['contatos', 'candidatura', 'mudanca-de-etapa']) assert.equal((await poll(app, feed)).body, '[]')
  })
})
