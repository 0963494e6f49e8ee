/**
 * What the bridge needs in the Rubeus tenant, read through its CRM API: each feed's event type and
 * the legal bases. Event types are created only when missing, and never twice: a creation whose
 * answer was lost (Rubeus may have made it) is looked up before it is tried again.
 */
import type { Feed } from '../mapping/mapping-file.js'
import { RubeusUnavailableError, type CallOptions, type RubeusApi } from './api.js'

/** An event type as Rubeus lists it (`Evento/listarTipoEvento`); types made by hand may have no code. */
export interface EventType { id: string, codigo: string, titulo: string }
/** A legal basis as Rubeus lists it (`Lgpd/listarBasesLegais`): the ids a contact's `baseLegal` takes. */
export interface LegalBase { id: string, base: string }

export type Listed<T> = { ok: true, items: T[] } | { ok: false, refused: string }

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
/** A value Rubeus answered, fit for one line of a terminal: no control characters, at most 255 characters. */
// eslint-disable-next-line no-control-regex
const text = (value: unknown) => typeof value === 'string' || typeof value === 'number' ? String(value).replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 255) : ''

/** `dados` as a list of objects, each read by `read`; an answer of another shape is said in one line. */
async function list<T> (api: RubeusApi, method: string, read: (item: Record<string, unknown>) => T, options?: CallOptions): Promise<Listed<T>> {
  const outcome = await api.call(method, {}, options)
  if (!outcome.ok) return outcome
  if (!Array.isArray(outcome.data)) return { ok: false, refused: `Rubeus answered ${method} without a list in dados` }
  return { ok: true, items: outcome.data.filter(isObject).map(read) }
}

export const listEventTypes = (api: RubeusApi, options?: CallOptions) =>
  list(api, 'Evento/listarTipoEvento', (e): EventType => ({ id: text(e.id), codigo: text(e.codigo), titulo: text(e.titulo) }), options)

export const listLegalBases = (api: RubeusApi, options?: CallOptions) =>
  list(api, 'Lgpd/listarBasesLegais', (b): LegalBase => ({ id: text(b.id), base: text(b.base) }), options)

/** The type with this code: compared without case, as the mapping file keeps codes apart. */
export const findEventType = (types: readonly EventType[], codTipo: string) =>
  types.find((t) => t.codigo.toLowerCase() === codTipo.toLowerCase())

/** Each feed with the event type it needs and whether Rubeus has it. */
export function eventTypesOf (feeds: readonly Feed[], types: readonly EventType[]) {
  return feeds.map((feed) => ({ feed, found: findEventType(types, feed.codTipo) }))
}

export type Creation =
  | { ok: true, id: string, lostAnswer: boolean }
  | { ok: false, refused: string }

/** Creations of one type at most: each after a fresh look that it is still missing. */
export const CREATE_ATTEMPTS = 3

/**
 * Creates the feed's event type (`Evento/cadastroTipoEvento`), assumed missing. The call is never
 * repeated blindly: when its answer does not come (a dropped connection, a time-out, a 5xx), Rubeus
 * may have made the type all the same, so the list is read again and the creation tried again only
 * if the type is still missing. `onLost` is told each time that happens.
 */
export async function createEventType (api: RubeusApi, feed: Feed, onLost?: (why: string) => void): Promise<Creation> {
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await api.call('Evento/cadastroTipoEvento', {
        codigo: feed.codTipo,
        titulo: feed.titulo,
        fluxo: 0,
        formaCriacaoOportunidade: feed.formaCriacaoOportunidade
      }, { attempts: 1 })
      if (!outcome.ok) return outcome
      return { ok: true, id: text(outcome.data), lostAnswer: false }
    } catch (err) {
      if (!(err instanceof RubeusUnavailableError)) throw err
      onLost?.(err.message)
      const listed = await listEventTypes(api)
      if (!listed.ok) return listed
      const found = findEventType(listed.items, feed.codTipo)
      if (found !== undefined) return { ok: true, id: found.id, lostAnswer: true }
      if (attempt >= CREATE_ATTEMPTS) throw err
    }
  }
}
