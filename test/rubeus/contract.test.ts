/**
 * What the feeds serve, checked against Rubeus's own documented example arrays (copied into
 * test/fixtures/rubeus): every key we send is a documented key, of the type the example gives it,
 * in the documented format. Realistic deliveries, every optional field the mapping can fill.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { applicationEvent, buildTestApp, fixture, person, poll, postDelivery, tempDir } from '../helper.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const documentedContact = (JSON.parse(fixture('rubeus/endpoint-feed-contatos.example.json')) as Array<Record<string, Json>>)[0]!
const documentedEvent = (JSON.parse(fixture('rubeus/endpoint-feed-eventos.example.json')) as Array<Record<string, Json>>)[0]!
/** Keys the documentation's tables list that its examples leave out (reference: Rubeus's endpoint page). */
const TABLE_ONLY_CONTACT_KEYS: Record<string, Json> = { baseLegal: '4', assinaturas: [] }
const TABLE_ONLY_EVENT_KEYS: Record<string, Json> = { codRegistro: 'ADM' }

const kind = (v: Json): string => Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v

/** Each key documented; each value of the documented kind; arrays and objects hold strings as the examples do. */
function assertShape (record: Record<string, Json>, documented: Record<string, Json>, what: string): void {
  for (const [key, value] of Object.entries(record)) {
    assert.ok(key in documented, `${what}: "${key}" is not a documented key`)
    assert.equal(kind(value), kind(documented[key]!), `${what}.${key}: ${kind(value)}, documented as ${kind(documented[key]!)}`)
    if (Array.isArray(value)) for (const item of value) assert.equal(typeof item, 'string', `${what}.${key}[]: strings`)
    if (kind(value) === 'object') {
      for (const [column, inner] of Object.entries(value as Record<string, Json>)) {
        assert.ok(typeof inner === 'string' || (Array.isArray(inner) && inner.every((i) => typeof i === 'string')),
          `${what}.${key}.${column}: a string, or a list of strings (multi-valued column)`)
      }
    }
  }
}

const FORMATS: Record<string, RegExp> = {
  dataNascimento: /^\d{4}-\d{2}-\d{2}$/,
  telefonePrincipal: /^55\(\d{2}\)\d{8,9}$/,
  cpf: /^\d{11}$/,
  cep: /^\d{5}-\d{3}$/,
  numero: /^\d+$/,
  uf: /^[A-Z]{2}$/,
  genero: /^[MF]$/,
  baseLegal: /^\d+$/,
  origem: /^\d+$/,
  data: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/
}

function assertFormats (record: Record<string, Json>, what: string): void {
  for (const [key, format] of Object.entries(FORMATS)) {
    if (key in record) assert.match(String(record[key]), format, `${what}.${key}`)
  }
  for (const phone of (record.telefones as string[] | undefined) ?? []) assert.match(phone, FORMATS.telefonePrincipal!, `${what}.telefones[]`)
}

describe('the feeds against Rubeus\'s documented examples', () => {
  test('contacts and events from realistic deliveries use only documented keys, of the documented types and formats', async (t) => {
    const dir = tempDir(t)
    const mappingFile = join(dir, 'mapping.json')
    writeFileSync(mappingFile, JSON.stringify({
      contact: { camposPersonalizados: { vaga_interesse: 'data.job.name', tags_gupy: 'data.application.tags' } },
      event: { codOferta: 'data.job.id', codCurso: 'data.job.departmentCode', codLocalOferta: 'data.job.branch.code', codRegistro: 'data.application.id', camposPersonalizados: { etapa_gupy: 'data.application.currentStep.name' } }
    }))
    const { app } = await buildTestApp(t, { RUBEUS_BASE_LEGAL: '4', RUBEUS_ORIGEM: '2', MAPPING_FILE: mappingFile })

    const bodies: unknown[] = [
      JSON.parse(fixture('gupy/application.created.reconstructed.json')),
      JSON.parse(fixture('gupy/application.moved.reconstructed.json'))
    ]
    for (let n = 1; n <= 4; n++) {
      const p = person(n)
      const candidate = {
        phoneNumber: n % 2 === 0 ? '(11) 3456-7890' : '',
        birthdate: '1990-02-0' + String(n),
        addressZipCode: '01310100',
        addressNumber: n === 3 ? 's/n' : '595 - 10º andar',
        addressStateShortName: n === 4 ? '' : 'SP',
        addressState: 'São Paulo',
        gender: n % 2 === 0 ? 'Female' : 'male',
        identificationDocument: n === 2 ? null : p.cpf,
        email: n === 4 ? '' : p.email
      }
      bodies.push(applicationEvent(p, { id: `contract-${n}-c`, event: 'application.created', date: new Date(Date.UTC(2025, 6, n, 12)), step: 'Cadastro', candidate }))
      bodies.push(applicationEvent(p, { id: `contract-${n}-m`, date: new Date(Date.UTC(2025, 6, n, 13)), step: 'Entrevista', previous: 'Cadastro', candidate }))
    }
    for (const body of bodies) assert.equal((await postDelivery(app, body)).statusCode, 200)

    const contacts = JSON.parse((await poll(app, 'contatos')).body) as Array<Record<string, Json>>
    assert.ok(contacts.length >= 5, `${contacts.length} contacts`)
    const contactSpec = { ...documentedContact, ...TABLE_ONLY_CONTACT_KEYS }
    for (const contact of contacts) {
      const what = `contact ${String(contact.codigo)}`
      assertShape(contact, contactSpec, what)
      assertFormats(contact, what)
      for (const required of ['codigo', 'nome', 'baseLegal', 'origem']) assert.ok(required in contact, `${what}: ${required} is sent`)
      assert.ok('telefonePrincipal' in contact || 'emailPrincipal' in contact, `${what}: a phone or an e-mail (Rubeus requires one)`)
    }
    assert.ok(contacts.some((c) => Array.isArray(c.telefones) && c.telefones.length > 0), 'a second number goes to telefones')

    const eventSpec = { ...documentedEvent, ...TABLE_ONLY_EVENT_KEYS }
    const codes = new Set(contacts.map((c) => c.codigo))
    for (const feed of ['candidatura', 'mudanca-de-etapa']) {
      const events = JSON.parse((await poll(app, feed)).body) as Array<Record<string, Json>>
      assert.ok(events.length >= 5, `${feed}: ${events.length} events`)
      for (const event of events) {
        const what = `${feed} event of ${String(event.codContato)}`
        assertShape(event, eventSpec, what)
        assertFormats(event, what)
        assert.ok(codes.has(event.codContato!), `${what}: its contact was served`)
        assert.equal(event.tipoData, feed, `${what}: tipoData goes with data`)
        assert.match(String(event.descricao), /^<p>.*<\/p>$/s)
      }
    }
  })
})
