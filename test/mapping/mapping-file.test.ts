/** The mapping file: the shipped example reproduces the defaults; mistakes are reported clearly. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../../src/errors.js'
import { DEFAULT_MAPPING, loadMapping } from '../../src/mapping/mapping-file.js'
import { RENDERED_MAX_BYTES, renderTemplate } from '../../src/mapping/template.js'
import { buildTestApp, logSink, tempDir } from '../helper.js'

const EXAMPLE = fileURLToPath(new URL('../../mapping.example.json', import.meta.url))

describe('loadMapping', () => {
  test('without a file, the defaults; the shipped example is exactly the defaults', () => {
    assert.equal(loadMapping(undefined), DEFAULT_MAPPING)
    assert.deepEqual(loadMapping(EXAMPLE), DEFAULT_MAPPING)
    assert.deepEqual(DEFAULT_MAPPING.feeds.map((f) => [f.name, f.tipoData, [...f.skipSteps]]),
      [['candidatura', 'candidatura', ['contratacao']], ['mudanca-de-etapa', 'mudanca-de-etapa', ['contratacao']],
        ['reprovacao', 'reprovacao', []], ['desistencia', 'desistencia', []]])
    assert.deepEqual(DEFAULT_MAPPING.feeds.map((f) => [f.events, f.onlyStatuses === undefined ? undefined : [...f.onlyStatuses]]), [
      [['application.created'], undefined], [['application.moved'], undefined],
      [['application.status-changed'], ['reproved']], [['application.status-changed'], ['give_up']]
    ], 'application.imported is selected by no default feed')
  })

  test('a missing file and invalid JSON are named', (t) => {
    const dir = tempDir(t)
    assert.throws(() => loadMapping(join(dir, 'nope.json')), (err: Error) =>
      err instanceof ConfigError && /nope\.json: cannot be read \(ENOENT\)/.test(err.message))
    writeFileSync(join(dir, 'bad.json'), '{ "feeds": [')
    assert.throws(() => loadMapping(join(dir, 'bad.json')), /bad\.json: is not valid JSON/)
  })

  test('every problem is listed with its place in the file', (t) => {
    const file = join(tempDir(t), 'mapping.json')
    writeFileSync(file, JSON.stringify({
      contactKey: ['cpf', 'cpf'],
      excludedStep: ['typo'],
      feeds: [
        { name: 'contatos', events: ['application.created'], descricao: 'x' },
        { name: 'Bad Name', events: ['job.created'], descricao: 'open {{ never closed' },
        { name: 'ok', events: ['application.moved'], descricao: 'x', codOferta: 'data..job' },
        { name: 'st', events: ['application.status-changed'], statuses: ['rejected'], descricao: 'x' }
      ]
    }))
    assert.throws(() => loadMapping(file), (err: Error) => {
      assert.ok(err instanceof ConfigError)
      for (const place of ['contactKey: lists a key twice', '(top level): Unrecognized key: "excludedStep"',
        'feeds.0.name: "contatos" is the contacts feed', 'feeds.1.name: lower-case letters', 'feeds.1.events.0:',
        'feeds.1.descricao: placeholders', 'feeds.2.codOferta: must be a dotted path', 'feeds.3.statuses.0:']) {
        assert.ok(err.message.includes(place), `${place} in\n${err.message}`)
      }
      return true
    })
  })

  test('duplicate feed names are refused', (t) => {
    const file = join(tempDir(t), 'mapping.json')
    const feed = { name: 'a', events: ['application.created'], descricao: 'x' }
    writeFileSync(file, JSON.stringify({ feeds: [feed, feed] }))
    assert.throws(() => loadMapping(file), /feeds: two feeds have the same name/)
  })

  test('each feed\'s event type in Rubeus\'s CRM API: gupy-<feed>, "Gupy: <feed>", no opportunity, unless the file says otherwise', (t) => {
    assert.deepEqual(DEFAULT_MAPPING.feeds.map((f) => [f.codTipo, f.titulo, f.formaCriacaoOportunidade]), [
      ['gupy-candidatura', 'Gupy: candidatura', 3], ['gupy-mudanca-de-etapa', 'Gupy: mudanca-de-etapa', 3],
      ['gupy-reprovacao', 'Gupy: reprovacao', 3], ['gupy-desistencia', 'Gupy: desistencia', 3]
    ])
    const file = join(tempDir(t), 'mapping.json')
    const feed = (name: string, extra: Record<string, unknown> = {}) => ({ name, events: ['application.created'], descricao: 'x', ...extra })
    writeFileSync(file, JSON.stringify({ feeds: [feed('a', { codTipo: ' GUPY_CANDIDATURA ', titulo: 'Candidatura (Gupy)', formaCriacaoOportunidade: 1 }), feed('b')] }))
    assert.deepEqual(loadMapping(file).feeds.map((f) => [f.codTipo, f.titulo, f.formaCriacaoOportunidade]),
      [['GUPY_CANDIDATURA', 'Candidatura (Gupy)', 1], ['gupy-b', 'Gupy: b', 3]])

    writeFileSync(file, JSON.stringify({
      feeds: [feed('a', { codTipo: 'com espaço', titulo: 't'.repeat(256), formaCriacaoOportunidade: 4 }), feed('b', { titulo: '' })]
    }))
    assert.throws(() => loadMapping(file), (err: Error) => {
      for (const place of ['feeds.0.codTipo: letters, digits', 'feeds.0.titulo: Rubeus takes at most 255 characters',
        'feeds.0.formaCriacaoOportunidade: must be 1 (always creates an opportunity), 2 (only through an automation flow) or 3 (never)',
        'feeds.1.titulo:']) {
        assert.ok(err.message.includes(place), `${place} in\n${err.message}`)
      }
      return true
    })
    // A copied feed that keeps another's codTipo (in any case) would share its event type.
    writeFileSync(file, JSON.stringify({ feeds: [feed('a'), feed('b', { codTipo: 'Gupy-A' })] }))
    assert.throws(() => loadMapping(file), /feeds: two feeds have the same codTipo/)
  })

  test('a template over 4 KB is refused; a rendered description is cut at 16 KB on a character boundary, never inside an entity', (t) => {
    const file = join(tempDir(t), 'mapping.json')
    writeFileSync(file, JSON.stringify({ feeds: [{ name: 'a', events: ['application.created'], descricao: `<p>${'x'.repeat(4096)}</p>` }] }))
    assert.throws(() => loadMapping(file), /feeds\.0\.descricao: a template is at most 4 KB/)

    // Each value is at most 200 characters, but a 4 KB template holds 170 placeholders: 2-byte
    // characters and entities, far past the limit.
    const name = 'ç&'.repeat(100)
    const template = `<p>${'{{data.candidate.name}}'.repeat(170)}`
    assert.ok(Buffer.byteLength(template) <= 4096)
    const rendered = renderTemplate(template, { data: { candidate: { name } } })
    assert.ok(Buffer.byteLength(rendered) <= RENDERED_MAX_BYTES, `${Buffer.byteLength(rendered)} bytes`)
    assert.ok(Buffer.byteLength(rendered) > RENDERED_MAX_BYTES - 8, 'cut close to the limit, not far below it')
    assert.ok(!rendered.includes('\uFFFD'), 'no broken character')
    assert.doesNotMatch(rendered, /&[a-z#0-9]*$/, 'no entity cut in two')
    assert.ok(('<p>' + name.replaceAll('&', '&amp;').repeat(170)).startsWith(rendered), 'a prefix of the whole rendering')
    assert.equal(renderTemplate('<p>{{data.x|curto}}</p>', {}), '<p>curto</p>', 'short renderings are untouched')
  })

  test('paths that are no field of Gupy\'s payload are named in a start-up warning; documented ones and custom fields are not', async (t) => {
    const dir = tempDir(t)
    const file = join(dir, 'mapping.json')
    writeFileSync(file, JSON.stringify({
      contact: { camposPersonalizados: { vaga: 'data.job.customFields.Área' } },
      feeds: [{
        name: 'a',
        events: ['application.created'],
        codOferta: 'data.job.code',
        descricao: '{{data.job.nmae}} {{data.candidate.name}} {{data.application.currentStep.name}} {{data.job.customFields.123}}',
        camposPersonalizados: { etapa: 'data.aplication.currentStep.name' }
      }]
    }))
    assert.deepEqual(loadMapping(file).unknownPaths, ['data.job.nmae', 'data.aplication.currentStep.name'])
    assert.deepEqual(DEFAULT_MAPPING.unknownPaths, [])
    const sink = logSink()
    await buildTestApp(t, { MAPPING_FILE: file }, sink.stream)
    const warning = sink.lines.map((l) => JSON.parse(l) as { level: number, msg: string, paths?: string[] }).find((l) => l.paths !== undefined)
    assert.equal(warning?.level, 40)
    assert.deepEqual(warning?.paths, ['data.job.nmae', 'data.aplication.currentStep.name'])
    assert.match(warning?.msg ?? '', /no field of Gupy's payload/)
  })
})
