/** Contact mapping: keys, field values as Gupy really sends them, last-writer-wins, rendering. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { candidateKeys, contactKey, contactValues, mergeContact, renderContact, type ContactState } from '../../src/mapping/contact.js'
import { DEFAULT_MAPPING, MappingSchema, resolveMapping } from '../../src/mapping/mapping-file.js'
import { fixture } from '../helper.js'

const TZ = 'America/Sao_Paulo'
const created = () => JSON.parse(fixture('gupy/application.created.reconstructed.json'))
const withCandidate = (candidate: unknown) => ({ ...created(), data: { ...created().data, candidate } })
const VALID_CPF = '01234567890' // check digits 9 and 0: valid, with a leading zero

describe('contact key', () => {
  test('the fixture CPF fails its check digits, so the key is the e-mail, lower-cased', () => {
    const keys = candidateKeys(withCandidate({ ...created().data.candidate, email: ' John.Doe@Example.COM ' }))
    assert.deepEqual(keys, { cpf: undefined, email: 'john.doe@example.com' })
    assert.equal(contactKey(keys, DEFAULT_MAPPING), 'john.doe@example.com')
  })

  test('a valid CPF is the key, leading zero kept, punctuation stripped', () => {
    const keys = candidateKeys(withCandidate({ identificationDocument: '012.345.678-90', email: 'a@b.com' }))
    assert.equal(contactKey(keys, DEFAULT_MAPPING), VALID_CPF)
  })

  test('the mapping can put the e-mail first', () => {
    const mapping = resolveMapping(MappingSchema.parse({ contactKey: ['email', 'cpf'] }))
    const keys = candidateKeys(withCandidate({ identificationDocument: VALID_CPF, email: 'a@b.com' }))
    assert.equal(contactKey(keys, mapping), 'a@b.com')
  })

  test('a foreign document and no e-mail: no key', () => {
    const keys = candidateKeys(withCandidate({ identificationDocument: 'AB1234567', email: null }))
    assert.equal(contactKey(keys, DEFAULT_MAPPING), undefined)
    assert.equal(contactKey(candidateKeys({ data: null }), DEFAULT_MAPPING), undefined)
  })
})

describe('contact values', () => {
  test('the fixture candidate, field by field', () => {
    const envelope = created()
    assert.deepEqual(contactValues(envelope, candidateKeys(envelope), DEFAULT_MAPPING, TZ), {
      nome: 'John Doe',
      dataNascimento: '1994-11-16',
      telefonePrincipal: '55(11)999990000',
      emailPrincipal: 'john.doe@example.com',
      telefones: ['55(11)30000000'],
      endereco: 'Rua Haddock Lobo',
      numero: '595',
      cidade: 'São Paulo',
      uf: 'SP',
      genero: 'M'
    })
  })

  test('nulls, empty strings, numbers and unknown keys: only valid values remain', () => {
    const envelope = withCandidate({
      name: '  Maria  ',
      lastName: null,
      email: '',
      identificationDocument: VALID_CPF,
      birthdate: '',
      mobileNumber: null,
      phoneNumber: '11987654321',
      addressZipCode: '01310100',
      addressStreet: '   ',
      addressNumber: 's/n',
      addressCity: null,
      addressState: 'Rio Grande do Sul',
      addressStateShortName: '',
      gender: 'FEMALE',
      favouriteColour: { nested: true },
      id: 42
    })
    assert.deepEqual(contactValues(envelope, candidateKeys(envelope), DEFAULT_MAPPING, TZ), {
      nome: 'Maria',
      telefonePrincipal: '55(11)987654321',
      cpf: VALID_CPF,
      cep: '01310-100',
      uf: 'RS',
      genero: 'F'
    })
  })

  test('no candidate at all gives no values', () => {
    assert.deepEqual(contactValues({ data: {} }, {}, DEFAULT_MAPPING, TZ), {})
  })

  test('custom columns from Gupy custom fields: by id, by title, booleans, empty lists left out', () => {
    const mapping = resolveMapping(MappingSchema.parse({
      contact: {
        camposPersonalizados: {
          idioma: 'data.job.customFields.583d1add-a920-4044-a570-7121e371cd1c',
          idiomaPorTitulo: 'data.job.customFields.Qual o seu idioma? / ¿Cuál es tu idioma? / What is your language?',
          escala: 'data.job.customFields.583d1add-a920-4044-a570-7121e371cd1c.575e6e7b-4b85-405a-834c-2c8f7f2c1f4a',
          flag: 'data.job.customFields.0.value.67134757-f466-4d2f-b920-7a3bb96a543e',
          vagaCodigo: 'data.job.id',
          ausente: 'data.job.nothing.here'
        }
      }
    }))
    const values = contactValues(created(), {}, mapping, TZ)
    assert.equal(values['camposPersonalizados.idioma'], 'Português')
    assert.equal(values['camposPersonalizados.idiomaPorTitulo'], 'Português')
    assert.equal(values['camposPersonalizados.escala'], 'Escala 6x1 diurno')
    assert.equal(values['camposPersonalizados.flag'], '0')
    assert.equal(values['camposPersonalizados.vagaCodigo'], '9282348')
    assert.ok(!('camposPersonalizados.ausente' in values))
  })
})

describe('last writer wins, field by field', () => {
  test('an older delivery arriving later fills only what is missing', () => {
    const state: ContactState = {}
    assert.equal(mergeContact(state, { nome: 'Novo Nome', cidade: 'Recife' }, { date: 2000, id: 'b' }), true)
    assert.equal(mergeContact(state, { nome: 'Nome Antigo', uf: 'PE', cidade: 'Olinda' }, { date: 1000, id: 'a' }), true)
    assert.deepEqual(state, {
      nome: ['Novo Nome', 2000, 'b'],
      cidade: ['Recife', 2000, 'b'],
      uf: ['PE', 1000, 'a']
    })
  })

  test('a newer delivery without a field keeps the older value; same date: the larger id wins', () => {
    const state: ContactState = {}
    mergeContact(state, { nome: 'A', genero: 'F' }, { date: 1000, id: 'x' })
    mergeContact(state, { nome: 'B' }, { date: 1000, id: 'y' })
    mergeContact(state, { nome: 'C' }, { date: 1000, id: 'w' })
    assert.equal(state.nome?.[0], 'B')
    assert.equal(state.genero?.[0], 'F')
  })

  test('a newer delivery with the same values changes nothing', () => {
    const state: ContactState = {}
    mergeContact(state, { nome: 'A', telefones: ['55(11)30000000'] }, { date: 1, id: 'a' })
    assert.equal(mergeContact(state, { nome: 'A', telefones: ['55(11)30000000'] }, { date: 2, id: 'b' }), false)
  })
})

describe('rendering', () => {
  const stamp = { date: 1, id: 'a' }

  test('every value is a string, fields in Rubeus order, config ids added', () => {
    const state: ContactState = {}
    mergeContact(state, {
      genero: 'M',
      nome: 'John Doe',
      emailPrincipal: 'j@d.com',
      telefonePrincipal: '55(11)999990000',
      telefones: ['55(11)30000000'],
      'camposPersonalizados.idioma': 'Português'
    }, stamp)
    const rendered = renderContact('j@d.com', state, { baseLegal: '4', origem: '2' })
    assert.ok('record' in rendered)
    assert.equal(rendered.record, JSON.stringify({
      codigo: 'j@d.com',
      nome: 'John Doe',
      telefonePrincipal: '55(11)999990000',
      emailPrincipal: 'j@d.com',
      telefones: ['55(11)30000000'],
      genero: 'M',
      camposPersonalizados: { idioma: 'Português' },
      baseLegal: '4',
      origem: '2'
    }))
  })

  test('a secondary phone equal to the principal is not repeated', () => {
    const state: ContactState = {}
    mergeContact(state, { nome: 'X', telefonePrincipal: '55(11)30000000' }, { date: 2, id: 'b' })
    mergeContact(state, { telefones: ['55(11)30000000'] }, stamp)
    const rendered = renderContact(VALID_CPF, state, {})
    assert.ok('record' in rendered)
    assert.ok(!('telefones' in JSON.parse(rendered.record)))
  })

  test('held back without phone and e-mail, or without a name', () => {
    const state: ContactState = {}
    mergeContact(state, { nome: 'X', cpf: VALID_CPF }, stamp)
    assert.deepEqual(renderContact(VALID_CPF, state, {}), { held: 'contact has neither a valid phone nor an e-mail' })
    const nameless: ContactState = {}
    mergeContact(nameless, { emailPrincipal: 'a@b.com' }, stamp)
    assert.deepEqual(renderContact('a@b.com', nameless, {}), { held: 'contact has no name' })
  })
})
