/** Gupy's REST application shape → a delivery shaped like a webhook, mapped to the same contact fields. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { candidateKeys, contactKey, contactValues } from '../../src/mapping/contact.js'
import { feedsFor, renderEvent } from '../../src/mapping/event.js'
import { DEFAULT_MAPPING } from '../../src/mapping/mapping-file.js'
import { leftOut } from '../../src/vocabulary/gupy-api.js'
import { apiDelivery as maybeDelivery, type ApiDeliveryKind, type RestApplication, type RestJob } from '../../src/gupy/rest.js'
import type { Delivery } from '../../src/store/inbox.js'
import { fixture } from '../helper.js'

const TZ = 'America/Sao_Paulo'
const NOW = Date.parse('2026-11-01T00:00:00Z')
const page = () => JSON.parse(fixture('gupy/rest.job-applications.reconstructed.json')) as { results: RestApplication[] }
const job = { id: 4100001, name: 'Analista de Suporte' }

/** What the mapping makes of an envelope's candidate. */
function fields (envelope: unknown) {
  const keys = candidateKeys(envelope)
  return { codigo: contactKey(keys, DEFAULT_MAPPING), values: contactValues(envelope, keys, DEFAULT_MAPPING, TZ) }
}

/** The webhook Gupy would post for the same candidate: the moved fixture with that candidate, `gender` capitalised. */
function webhookWith (candidate: Record<string, unknown>) {
  const body = JSON.parse(fixture('gupy/application.moved.reconstructed.json'))
  const gender = typeof candidate.gender === 'string' ? candidate.gender[0]!.toUpperCase() + candidate.gender.slice(1) : candidate.gender
  body.data.candidate = { ...candidate, gender }
  return body
}

/** The delivery an application makes; fails the test when it is skipped. */
function apiDelivery (kind: ApiDeliveryKind, application: RestApplication, from: RestJob, now: number): Delivery {
  const delivery = maybeDelivery(kind, application, from, now)
  assert.ok(typeof delivery !== 'string', `skipped: ${String(delivery)}`)
  return delivery
}

const envelopeOf = (application: RestApplication, kind: 'status' | 'import' = 'import') =>
  JSON.parse(apiDelivery(kind, application, job, NOW).body as string)

describe('REST applications as deliveries', () => {
  test('both fixture applications map to the contact fields their webhook would give', () => {
    for (const application of page().results) {
      const fromApi = fields(envelopeOf(application))
      assert.deepEqual(fromApi, fields(webhookWith(application.candidate!)))
      assert.ok(fromApi.codigo !== undefined)
    }
  })

  test('the fixture in detail: upper-case names as typed, mixed-case e-mail lower-cased, lower-case gender, empty short state, phone without country code', () => {
    const [, rafael] = page().results
    const { codigo, values } = fields(envelopeOf(rafael!, 'status'))
    assert.equal(codigo, '04239811708')
    assert.deepEqual(values, {
      nome: 'RAFAEL SOUZA TESTE',
      dataNascimento: '1991-03-07',
      telefonePrincipal: '55(21)998760002',
      emailPrincipal: 'rafael.souza.teste@example.com',
      telefones: ['55(21)33330002'],
      cpf: '04239811708',
      endereco: 'Rua da Assembleia',
      cep: '20040-002',
      numero: '10',
      cidade: 'Rio de Janeiro',
      uf: 'RJ',
      genero: 'M'
    })
  })

  test('variations: gender in any case, phone formats, a bare e-mail key, missing fields', () => {
    const [fernanda] = page().results
    const variants: Array<Record<string, unknown>> = [
      { gender: 'FEMALE', mobileNumber: '(11) 98765-0001', email: ' Fernanda.LIMA@Example.com ' },
      { gender: 'female', mobileNumber: null, phoneNumber: '11987650001', identificationDocument: '123', addressStateShortName: '' },
      { name: 'FERNANDA', lastName: '  LIMA  TESTE ', addressZipCode: '', addressNumber: 's/n', addressState: 'SP', addressStateShortName: '' }
    ]
    for (const change of variants) {
      const application = { ...fernanda!, candidate: { ...fernanda!.candidate, ...change } }
      assert.deepEqual(fields(envelopeOf(application)), fields(webhookWith(application.candidate)), JSON.stringify(change))
    }
    const noCpf = { ...fernanda!, candidate: { ...fernanda!.candidate, identificationDocument: '123', email: 'Fernanda.LIMA@Example.com' } }
    assert.equal(fields(envelopeOf(noCpf)).codigo, 'fernanda.lima@example.com')
  })

  test('ids, events and dates: endedAt for an outcome, updatedAt for an import; endedAt null falls back', () => {
    const [fernanda, rafael] = page().results
    const outcome = apiDelivery('status', rafael!, job, NOW)
    assert.equal(outcome.eventId, 'gupy-api:90000102:reproved')
    assert.equal(outcome.event, 'application.status-changed')
    assert.equal(outcome.eventDate, Date.parse('2026-10-12T14:03:00.000Z'))
    const imported = apiDelivery('import', fernanda!, job, NOW)
    assert.equal(imported.eventId, 'gupy-api:90000101:import')
    assert.equal(imported.event, 'application.imported')
    assert.equal(imported.eventDate, Date.parse('2026-10-09T18:22:41.560Z'))
    assert.equal(apiDelivery('status', { ...fernanda!, status: 'give_up' }, job, NOW).eventDate, Date.parse('2026-10-09T18:22:41.560Z'), 'endedAt null: updatedAt')
    assert.equal(apiDelivery('status', { id: 1, status: 'give_up', endedAt: null, updatedAt: null }, job, NOW).eventDate, NOW, 'no date: when it was found')
    assert.equal(apiDelivery('import', { id: 1, updatedAt: null, createdAt: '2026-01-02T03:04:05Z' }, job, NOW).eventDate, Date.parse('2026-01-02T03:04:05Z'))
  })

  test('only webhook fields are kept: no work experience, languages or comments', () => {
    const body = envelopeOf(page().results[0]!)
    assert.deepEqual(Object.keys(body.data), ['job', 'application', 'candidate'])
    assert.equal(body.data.candidate.workExperience, undefined)
    assert.equal(body.data.candidate.languages, undefined)
    assert.equal(body.data.application.comments, undefined)
    assert.deepEqual(body.data.application.currentStep, { id: 7100002, name: 'Entrevista com RH' })
    assert.deepEqual(body.data.job, job)
  })

  test('an outcome goes to the feed of its status, the description names the job and the reason, HTML-escaped', () => {
    const [, rafael] = page().results
    const reproved = envelopeOf({ ...rafael!, job: { id: 1, name: 'Dev <Sênior> & "Pleno"' } }, 'status')
    const feeds = feedsFor(reproved, DEFAULT_MAPPING)
    assert.deepEqual(feeds.map((f) => f.name), ['reprovacao'])
    const record = JSON.parse(renderEvent(reproved, Date.parse(reproved.date), feeds[0]!, '04239811708', TZ))
    assert.deepEqual(record, {
      codContato: '04239811708',
      descricao: '<p>Reprovado(a) na vaga <b>Dev &lt;Sênior&gt; &amp; &quot;Pleno&quot;</b> (motivo: insufficient_knowledge).</p>',
      data: '2026-10-12 11:03:00',
      tipoData: 'reprovacao'
    })
    const gaveUp = envelopeOf({ ...rafael!, status: 'give_up', disapprovalReason: undefined, currentStep: { id: 1, name: 'Contratação' } }, 'status')
    assert.deepEqual(feedsFor(gaveUp, DEFAULT_MAPPING).map((f) => f.name), ['desistencia'], 'a status feed ignores the excluded steps')
    assert.deepEqual(feedsFor(envelopeOf(rafael!, 'import'), DEFAULT_MAPPING), [], 'an import makes no event by default')
  })
})

describe('applications the API answers badly are skipped by reason, never stored', () => {
  const [fernanda] = page().results

  test('an id that is missing, null, not a positive integer or a plain token is no id', () => {
    for (const id of [undefined, null, '', 0, -5, 1.5, Number.MAX_SAFE_INTEGER + 2, {}, [1], 'a:b', 'x'.repeat(65), 'undefined id']) {
      for (const kind of ['status', 'import'] as const) {
        assert.equal(maybeDelivery(kind, { ...fernanda!, id: id as number }, job, NOW), 'noId', `${kind} ${JSON.stringify(id)}`)
      }
    }
    assert.equal(apiDelivery('import', { ...fernanda!, id: 'A1_b-2' }, job, NOW).eventId, 'gupy-api:A1_b-2:import')
    assert.equal(apiDelivery('import', { ...fernanda!, id: '90000101' }, job, NOW).eventId, 'gupy-api:90000101:import')
  })

  test('dates are held to the webhooks\' window: before 2000 or more than a day ahead of now is skipped', () => {
    const cases: Array<[Partial<RestApplication>, 'status' | 'import']> = [
      [{ updatedAt: '9999-12-31T00:00:00Z' }, 'import'],
      [{ updatedAt: null, createdAt: '1999-12-31T23:59:59Z' }, 'import'],
      [{ updatedAt: new Date(NOW + 25 * 3_600_000).toISOString() }, 'import'],
      [{ status: 'reproved', endedAt: '9999-01-01T00:00:00Z' }, 'status'],
      [{ status: 'give_up', endedAt: null, updatedAt: '0100-01-01T00:00:00Z' }, 'status']
    ]
    for (const [change, kind] of cases) assert.equal(maybeDelivery(kind, { ...fernanda!, ...change }, job, NOW), 'dateOutOfWindow', JSON.stringify(change))
    const soon = new Date(NOW + 23 * 3_600_000).toISOString()
    assert.equal(apiDelivery('import', { ...fernanda!, updatedAt: soon }, job, NOW).eventDate, Date.parse(soon), 'a clock a few hours ahead is tolerated')
  })

  test('what was left out reads as one phrase, from a stored summary of any age', () => {
    assert.equal(leftOut({ noId: 2, dateOutOfWindow: 1 }, { repeatedPage: 1, pastTotals: 0, pageCap: 0 }),
      '3 applications skipped (2 without a usable id, 1 dated before 2000 or more than a day ahead); 1 listing cut short (1 a page repeated an earlier one)')
    assert.equal(leftOut({ noId: 0, dateOutOfWindow: 1 }, undefined), '1 application skipped (1 dated before 2000 or more than a day ahead)')
    assert.equal(leftOut(undefined, undefined), '')
    assert.equal(leftOut({ noId: 0, dateOutOfWindow: 0 }, { repeatedPage: 0, pastTotals: 2, pageCap: 0 }), '2 listings cut short (2 the pages went past the results Gupy announced)')
  })
})
