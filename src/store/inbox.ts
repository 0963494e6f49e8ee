/** The inbox repository: stores each Gupy delivery once, keyed by its id. */
import type { Database } from 'better-sqlite3'

/** The Gupy events the bridge turns into Rubeus records; others are only acknowledged. */
export const APPLICATION_EVENTS: ReadonlySet<string> = new Set(['application.created', 'application.moved'])

export type Outcome = 'accepted' | 'duplicate' | 'ignored'

export interface Delivery {
  eventId: string
  event: string
  /** The envelope's `date`, epoch milliseconds. */
  eventDate: number
  receivedAt: number
  /** The raw body as received (UTF-8). Kept only for application events (data minimisation). */
  body: string | Uint8Array
}

export type DeliveryState = 'received' | 'mapped' | 'failed' | 'ignored'

export interface InboxCounts {
  byState: Record<DeliveryState, number>
  lastReceivedAt?: number
}

export function createInbox (db: Database) {
  // The body is stored as it arrived: bytes are cast to TEXT as they are, without a round trip
  // through a JavaScript string.
  const insert = db.prepare<[string, string, number, number, string, string | Uint8Array | null]>(`
    INSERT INTO deliveries (event_id, event, event_date, received_at, state, payload)
    VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT))
    ON CONFLICT (event_id) DO NOTHING`)
  const countByState = db.prepare<[], { state: DeliveryState, n: number }>(
    'SELECT state, count(*) AS n FROM deliveries GROUP BY state')
  const lastReceived = db.prepare<[], { received_at: number }>(
    'SELECT received_at FROM deliveries ORDER BY seq DESC LIMIT 1')

  /** When the newest delivery arrived (epoch ms), without counting the inbox. */
  const lastReceivedAt = (): number | undefined => lastReceived.get()?.received_at

  return {
    /** Inserts the delivery unless its id is known. Runs inside the caller's transaction. */
    record (d: Delivery): Outcome {
      const application = APPLICATION_EVENTS.has(d.event)
      const { changes } = insert.run(d.eventId, d.event, d.eventDate, d.receivedAt,
        application ? 'received' : 'ignored', application ? d.body : null)
      if (changes === 0) return 'duplicate'
      return application ? 'accepted' : 'ignored'
    },

    counts (): InboxCounts {
      const byState: Record<DeliveryState, number> = { received: 0, mapped: 0, failed: 0, ignored: 0 }
      for (const { state, n } of countByState.all()) byState[state] = n
      return { byState, lastReceivedAt: lastReceivedAt() }
    },

    lastReceivedAt
  }
}

export type Inbox = ReturnType<typeof createInbox>
