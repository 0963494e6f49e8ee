/** Gupy's vocabulary as the bridge uses it: the events it maps, and what it answers for a delivery. */

/**
 * The events turned into Rubeus records; any other event is only acknowledged. Gupy posts the first
 * two; the bridge makes the last two itself from Gupy's API (reconciliation and import).
 */
export const APPLICATION_EVENTS = ['application.created', 'application.moved', 'application.status-changed', 'application.imported'] as const
export type ApplicationEvent = typeof APPLICATION_EVENTS[number]

export function isApplicationEvent (event: string): event is ApplicationEvent {
  return (APPLICATION_EVENTS as readonly string[]).includes(event)
}

/** Prefix of every delivery id the bridge makes from Gupy's API (never a Gupy webhook id, which is a UUID). */
export const API_ID_PREFIX = 'gupy-api:'

/** An outcome Gupy never posts: reconciliation asks its API for applications in these statuses. */
export const OUTCOME_STATUSES = ['reproved', 'give_up'] as const
export type OutcomeStatus = typeof OUTCOME_STATUSES[number]
/** Application statuses after which nothing more is asked about the application. */
export const ENDED_STATUSES = ['reproved', 'give_up', 'hired'] as const
/** Every application status Gupy documents. */
export const APPLICATION_STATUSES = ['in_process', ...ENDED_STATUSES] as const

/** What a stored delivery was: new and mapped, seen before, or of another event type (kept as an id only). */
export const OUTCOMES = ['accepted', 'duplicate', 'ignored'] as const
export type Outcome = typeof OUTCOMES[number]
