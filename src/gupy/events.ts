/** Gupy's vocabulary as the bridge uses it: the events it maps, and what it answers for a delivery. */

/** The Gupy events turned into Rubeus records; any other event is only acknowledged. */
export const APPLICATION_EVENTS = ['application.created', 'application.moved'] as const
export type ApplicationEvent = typeof APPLICATION_EVENTS[number]

export function isApplicationEvent (event: string): event is ApplicationEvent {
  return (APPLICATION_EVENTS as readonly string[]).includes(event)
}

/** What a stored delivery was: new and mapped, seen before, or of another event type (kept as an id only). */
export const OUTCOMES = ['accepted', 'duplicate', 'ignored'] as const
export type Outcome = typeof OUTCOMES[number]
