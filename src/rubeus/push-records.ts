/**
 * Records are stored in the pull feeds' shape; these adapters make the bodies of Rubeus's CRM API
 * from them at send time (SPEC §4b): a contact for `Contato/cadastro`, an event for `Evento/cadastro`.
 * `origem` and `token` are added by the API client.
 */
import { localDateTime } from '../vocabulary/formats.js'

type Fields = Record<string, unknown>

/** The feed's `genero` (M/F) as the API's `sexo`: 1 male, 2 female. */
const SEXO: Record<string, number> = { M: 1, F: 2 }

/**
 * A contact record of the feed as the API names its fields: `telefones` → `telefone[]`, `emails` →
 * `email[]`, `genero` → `sexo`, `cidade` and `uf` → `estadoCidade {cidade, estado}`; the rest as it is.
 * `id` is the contact's Rubeus id, once known (sending it updates that contact).
 */
export function contactBody (record: string, id?: string): Fields {
  const { telefones, emails, genero, cidade, uf, origem: _origem, ...rest } = JSON.parse(record) as Fields
  const body: Fields = id === undefined ? { ...rest } : { id: Number.isSafeInteger(Number(id)) ? Number(id) : id, ...rest }
  if (Array.isArray(telefones)) body.telefone = telefones
  if (Array.isArray(emails)) body.email = emails
  if (typeof genero === 'string' && SEXO[genero] !== undefined) body.sexo = SEXO[genero]
  if (typeof cidade === 'string') body.estadoCidade = typeof uf === 'string' ? { cidade, estado: uf } : { cidade }
  return body
}

/** An event's `codigo` in Rubeus: the delivery and the feed, so a retry edits the event instead of adding one. */
export const eventCode = (deliveryId: string, feed: string) => `gupy:${deliveryId}:${feed}`

export interface EventTarget {
  feed: string
  /** Gupy's delivery id. */
  deliveryId: string
  /** The delivery's `date`, epoch milliseconds. */
  eventDate: number
  /** The feed's event type (`codTipo`). */
  codTipo: string
  /** The contact's Rubeus id. */
  pessoa: string
  timeZone: string
}

/**
 * An event record of the feed as `Evento/cadastro` takes it: its own `codigo`, the type, the contact
 * by Rubeus id, `momento` (the delivery's date in TIMEZONE), and the feed's `descricao`, `data`,
 * `tipoData`, sources and custom fields as they are.
 */
export function eventBody (record: string, target: EventTarget): Fields {
  const { codContato: _contact, ...rest } = JSON.parse(record) as Fields
  const id = Number(target.pessoa)
  return {
    codigo: eventCode(target.deliveryId, target.feed),
    codTipo: target.codTipo,
    pessoa: { id: Number.isSafeInteger(id) ? id : target.pessoa },
    momento: localDateTime(target.eventDate, target.timeZone),
    ...rest
  }
}
