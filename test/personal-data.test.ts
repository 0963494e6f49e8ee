/** Masking personal data out of text that comes from outside, before it reaches a message. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { maskPersonalData } from '../src/personal-data.js'
import { validCpf } from './helper.js'

describe('maskPersonalData', () => {
  test('e-mails, CPFs (with or without punctuation), phones in their usual forms and other long numbers are masked', () => {
    const cpf = validCpf(123_456)
    const dotted = `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`
    const text = `e-mail Maria.Souza+rh@Example.COM.br, cpf ${cpf} or ${dotted}; phones +5511987654321, +55 (11) 98765-4321, (21) 3333-4444, 11987654321; cnpj 12.345.678/0001-95`
    assert.equal(maskPersonalData(text), 'e-mail [e-mail], cpf [CPF] or [CPF]; phones [number], [number], [number], [number]; cnpj [number]')
  })

  test('ids, counts, dates and times stay readable', () => {
    const text = 'job 4100001, application 574488860, page 3 of 12, at 2026-10-01T12:00:00.000Z (429 after 500 requests)'
    assert.equal(maskPersonalData(text), text)
  })

  test('fields that name a person, a document, a phone or an address are masked whatever their value looks like', () => {
    const body = JSON.stringify({ candidate: { name: 'Ana', lastName: 'de Souza', nome: 'Ana Souza', identificationDocument: '123', phoneNumber: 12345, birthdate: '1990-01-01', addressStreet: 'Rua A' }, status: 'reproved' })
    assert.equal(maskPersonalData(body, 1000), '{"candidate":{"name":"[name]","lastName":"[name]","nome":"[name]","identificationDocument":"[masked]",' +
      '"phoneNumber":"[masked]","birthdate":"[masked]","addressStreet":"[masked]"},"status":"reproved"}')
  })

  test('one line, trimmed, at most the length asked (an ellipsis marks the cut)', () => {
    assert.equal(maskPersonalData('  first\r\n\tsecond\u0000third  '), 'first second third')
    const long = maskPersonalData('word '.repeat(200), 50)
    assert.equal(long.length, 50)
    assert.ok(long.endsWith('…'))
  })

  test('a huge body is scanned only at its start, and nothing half-cut escapes at the edge', () => {
    const body = `${'a'.repeat(16_380)} maria.souza@example.com ${'b'.repeat(1_000_000)}`
    const masked = maskPersonalData(body, 20_000)
    assert.ok(!masked.includes('maria'), 'no part of the e-mail cut at the edge')
    assert.ok(masked.endsWith('…'))
    assert.ok(masked.length < 16_400)
  })
})
