/** The mapping file: the shipped example reproduces the defaults; mistakes are reported clearly. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../../src/errors.js'
import { DEFAULT_MAPPING, loadMapping } from '../../src/mapping/mapping-file.js'
import { tempDir } from '../helper.js'

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
})
