/**
 * Rubeus's CRM API as the bridge uses it, in words several layers share: how records reach Rubeus,
 * the default pace and deadline of a call, and the defaults of a feed's event type.
 */

/** `pull`: Rubeus polls the feeds (the default); `push`: the bridge calls Rubeus's CRM API. */
export const DELIVERY_MODES = ['pull', 'push'] as const
export type DeliveryMode = typeof DELIVERY_MODES[number]

/** Requests per minute by default: two a second (Rubeus documents no limit; its own scripts pause 0.4–1 s). */
export const API_REQUESTS_PER_MINUTE = 120
/** Seconds an answer may take, headers and body together, by default (RUBEUS_API_TIMEOUT_SECONDS). */
export const API_TIMEOUT_SECONDS = 30

/**
 * `formaCriacaoOportunidade` of an event type: 1 an event always creates an opportunity, 2 only when
 * an automation flow does, 3 never. A candidate's application is no sales opportunity: 3.
 */
export const OPPORTUNITY_MODES = [1, 2, 3] as const
export const DEFAULT_OPPORTUNITY_MODE = 3

/** A feed's event type in Rubeus, unless the mapping file says otherwise. */
export const defaultCodTipo = (feed: string) => `gupy-${feed}`
export const defaultTitulo = (feed: string) => `Gupy: ${feed}`
