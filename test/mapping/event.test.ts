/** Event mapping: which feeds take a delivery, and the record, with escaped description and local date. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { feedsFor, renderEvent } from '../../src/mapping/event.js'
import { DEFAULT_MAPPING, MappingSchema, resolveMapping } from '../../src/mapping/mapping-file.js'
import { fixture } from '../helper.js'

const TZ = 'America/Sao_Paulo'
const created = () => JSON.parse(fixture('gupy/application.created.reconstructed.json'))
const moved = () => JSON.parse(fixture('gupy/application.moved.reconstructed.json'))
const movedTo = (name: unknown) => {
  const e = moved()
  e.data.application.currentStep.name = name
  return e
}
const names = (feeds: Array<{ name: string }>) => feeds.map((f) => f.name)

describe('feed selection', () => {
  test('created → candidatura, moved → mudanca-de-etapa', () => {
    assert.deepEqual(names(feedsFor(created(), DEFAULT_MAPPING)), ['candidatura'])
    assert.deepEqual(names(feedsFor(moved(), DEFAULT_MAPPING)), ['mudanca-de-etapa'])
  })

  test('a move into Contratação, in any case and with or without accents, gives no event', () => {
    for (const step of ['Contratação', ' CONTRATACAO ', 'contratação']) {
      assert.deepEqual(names(feedsFor(movedTo(step), DEFAULT_MAPPING)), [], step)
    }
    assert.deepEqual(names(feedsFor(movedTo('Contratação de estagiários'), DEFAULT_MAPPING)), ['mudanca-de-etapa'])
  })

  test('a move with no current step is still an event', () => {
    assert.deepEqual(names(feedsFor(movedTo(null), DEFAULT_MAPPING)), ['mudanca-de-etapa'])
  })

  test('an extra feed chosen by step name takes the hires', () => {
    const mapping = resolveMapping(MappingSchema.parse({
      feeds: [
        ...MappingSchema.parse({}).feeds,
        { name: 'contratacao', events: ['application.moved'], steps: ['Contratação'], descricao: 'Contratado na vaga {{data.job.name}}' }
      ]
    }))
    assert.deepEqual(names(feedsFor(movedTo('CONTRATAÇÃO'), mapping)), ['contratacao'])
    assert.deepEqual(names(feedsFor(movedTo('Entrevista'), mapping)), ['mudanca-de-etapa'])
  })
})

describe('event record', () => {
  const feed = (name: string) => DEFAULT_MAPPING.feeds.find((f) => f.name === name)!

  test('candidatura: codContato, description, local date, tipoData', () => {
    const e = created()
    assert.deepEqual(JSON.parse(renderEvent(e, Date.parse(e.date), feed('candidatura'), 'john.doe@example.com', TZ)), {
      codContato: 'john.doe@example.com',
      descricao: '<p>Candidatura na vaga <b>VAGA TESTE INTEGRAÇÃO - Auxiliar de Produção</b> (etapa: Cadastro).</p>',
      data: '2025-07-01 09:00:00',
      tipoData: 'candidatura'
    })
  })

  test('job and step names are HTML-escaped; a missing previous step has a fallback', () => {
    const e = movedTo('<script>alert("x")</script>')
    e.data.job.name = 'Dev & "Ops" <b>'
    delete e.data.application.previousStep
    const record = JSON.parse(renderEvent(e, Date.parse(e.date), feed('mudanca-de-etapa'), 'k', TZ))
    assert.equal(record.descricao,
      '<p>Mudou da etapa <b>não informada</b> para a etapa <b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</b> na vaga <b>Dev &amp; &quot;Ops&quot; &lt;b&gt;</b>.</p>')
  })

  test('sources and custom columns from the mapping file; absent values left out', () => {
    const mapping = resolveMapping(MappingSchema.parse({
      event: { codOferta: 'data.job.code', codCurso: 'data.job.roleCode', camposPersonalizados: { etapa: 'data.application.currentStep.name' } },
      feeds: [{ name: 'candidatura', events: ['application.created'], descricao: 'x', tipoData: 'Candidatura Gupy', codRegistro: 'data.application.id' }]
    }))
    const e = created()
    const record = JSON.parse(renderEvent(e, Date.parse('2025-01-01T02:30:00Z'), mapping.feeds.find((f) => f.name === 'candidatura')!, 'k', TZ))
    assert.deepEqual(record, {
      codContato: 'k',
      descricao: 'x',
      data: '2024-12-31 23:30:00',
      tipoData: 'Candidatura Gupy',
      codCurso: '35251270',
      codRegistro: '574488860',
      camposPersonalizados: { etapa: 'Cadastro' }
    })
  })
})
