/** Gupy candidate → Rubeus contact: field values, the contact key, last-writer-wins merging, rendering. */
import * as f from '../vocabulary/formats.js'
import type { Mapping } from './mapping-file.js'
import { fieldAt, valueAt } from './template.js'

/** One contact field's value; custom columns are stored as `camposPersonalizados.<coluna>`. */
export type FieldValue = string | string[]
export type ContactValues = Record<string, FieldValue>

/** Which delivery a value came from: newer `(date, id)` wins. */
export interface Stamp { date: number, id: string }

/** Per field: the value and the stamp of the delivery it came from. */
export type ContactState = Record<string, [FieldValue, number, string]>

export interface CandidateKeys { cpf?: string, email?: string }

const CUSTOM = 'camposPersonalizados.'

/** The identifiers a delivery offers as contact key. */
export function candidateKeys (envelope: unknown): CandidateKeys {
  const candidate = valueAt(envelope, 'data.candidate')
  return {
    cpf: f.cpf(valueAt(candidate, 'identificationDocument')),
    email: f.email(valueAt(candidate, 'email'))
  }
}

/** The first key of the mapping's order the delivery has, or undefined. */
export function contactKey (keys: CandidateKeys, mapping: Mapping): string | undefined {
  for (const name of mapping.contactKey) if (keys[name] !== undefined) return keys[name]
  return undefined
}

/** Every contact field the delivery has a valid value for. */
export function contactValues (envelope: unknown, keys: CandidateKeys, mapping: Mapping, timeZone: string): ContactValues {
  const c = valueAt(envelope, 'data.candidate')
  const at = (key: string) => valueAt(c, key)
  const mobile = f.phone(at('mobileNumber'))
  const landline = f.phone(at('phoneNumber'))
  const principal = mobile ?? landline
  const other = mobile !== undefined && landline !== undefined && landline !== mobile ? landline : undefined
  const values: ContactValues = {}
  // Only the fields it has (a deleted key would turn the object into a slow dictionary).
  const put = (field: string, value: FieldValue | undefined) => { if (value !== undefined) values[field] = value }
  put('nome', f.fullName(at('name'), at('lastName')))
  put('dataNascimento', f.birthDate(at('birthdate'), timeZone))
  put('telefonePrincipal', principal)
  put('emailPrincipal', keys.email)
  put('telefones', other === undefined ? undefined : [other])
  put('cpf', keys.cpf)
  put('endereco', f.text(at('addressStreet')))
  put('cep', f.cep(at('addressZipCode')))
  put('numero', f.houseNumber(at('addressNumber')))
  put('bairro', f.text(at('addressDistrict') ?? at('addressNeighborhood')))
  put('cidade', f.text(at('addressCity')))
  put('uf', f.uf(at('addressStateShortName'), at('addressState')))
  put('genero', f.gender(at('gender')))
  for (const [column, path] of Object.entries(mapping.contactColumns)) put(CUSTOM + column, fieldAt(envelope, path))
  return values
}

/** Whether two field values are the same (a value read back from the stored state may be of any JSON type). */
function sameValue (a: unknown, b: FieldValue): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b
  if (Array.isArray(a) && a.length === b.length && a.every((x) => typeof x === 'string')) return a.every((x, i) => x === b[i])
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Whether the stamp is at least as new as (date, id); the same delivery mapped again counts. */
const atLeastAsNew = (a: Stamp, date: number, id: string) => a.date > date || (a.date === date && a.id >= id)

/**
 * Last-writer-wins, field by field: a field takes the delivery's value unless the value it has
 * came from a newer delivery. Returns whether anything changed.
 */
export function mergeContact (state: ContactState, values: ContactValues, stamp: Stamp): boolean {
  let changed = false
  for (const [field, value] of Object.entries(values)) {
    const current = state[field]
    if (current !== undefined && !atLeastAsNew(stamp, current[1], current[2])) continue
    if (current === undefined || !sameValue(current[0], value)) changed = true
    state[field] = [value, stamp.date, stamp.id]
  }
  return changed
}

/** Rubeus's field order (its endpoint documentation's example). */
const ORDER = ['nome', 'dataNascimento', 'telefonePrincipal', 'emailPrincipal', 'telefones', 'cpf',
  'endereco', 'cep', 'numero', 'bairro', 'cidade', 'uf', 'genero']

export interface ContactExtras { baseLegal?: string, origem?: string }

/** The JSON record served to Rubeus, or why it cannot be (Rubeus needs a name, and a phone or an e-mail). */
export function renderContact (codigo: string, state: ContactState, extras: ContactExtras): { record: string } | { held: string } {
  const value = (field: string) => state[field]?.[0]
  if (value('telefonePrincipal') === undefined && value('emailPrincipal') === undefined) {
    return { held: 'contact has neither a valid phone nor an e-mail' }
  }
  if (value('nome') === undefined) return { held: 'contact has no name' }
  const record: Record<string, unknown> = { codigo }
  for (const field of ORDER) {
    const v = value(field)
    if (field === 'telefones' && Array.isArray(v)) {
      const others = v.filter((p) => p !== value('telefonePrincipal'))
      if (others.length > 0) record.telefones = others
    } else if (v !== undefined) record[field] = v
  }
  const custom = Object.keys(state).filter((k) => k.startsWith(CUSTOM)).sort()
  if (custom.length > 0) record.camposPersonalizados = Object.fromEntries(custom.map((k) => [k.slice(CUSTOM.length), value(k)]))
  if (extras.baseLegal !== undefined) record.baseLegal = extras.baseLegal
  if (extras.origem !== undefined) record.origem = extras.origem
  return { record: f.recordJson(record) }
}
