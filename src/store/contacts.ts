/** The contacts repository: application → contact bindings, contacts with their field state, and the outbox of records to release. */
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import type { Database } from './sqlite.js'

/** Where a record comes from: the delivery, and its order and settle-window keys. */
export interface Origin { seq: number, event_date: number, event_id: string, received_at: number }

export interface StoredContact { fields: string, record: string | null }

export function createContacts (db: Database) {
  const boundKey = db.prepare<[string], string>('SELECT codigo FROM applications WHERE application_id = ?').pluck()
  const bind = db.prepare<[string, string, string | null, string | null]>(
    'INSERT INTO applications (application_id, codigo, job_id, ended_status) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
  const load = db.prepare<[string], StoredContact>('SELECT fields, record FROM contacts WHERE codigo = ?')
  const save = db.prepare<[string, string, string | null, string | null, number]>(`
    INSERT INTO contacts (codigo, fields, record, held, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (codigo) DO UPDATE SET fields = excluded.fields, record = excluded.record, held = excluded.held, updated_at = excluded.updated_at`)
  // One pending change per contact: it is served as it stands when its batch is cut.
  const queueContact = db.prepare<[string, number, number, string, number]>(`
    INSERT INTO outbox (feed, codigo, delivery_seq, event_date, event_id, received_at) VALUES ('${CONTACTS_FEED}', ?, ?, ?, ?, ?)
    ON CONFLICT (codigo) WHERE feed = '${CONTACTS_FEED}' DO UPDATE SET
      delivery_seq = excluded.delivery_seq,
      event_date = max(event_date, excluded.event_date),
      event_id = CASE WHEN excluded.event_date >= event_date THEN excluded.event_id ELSE event_id END`)
  const released = db.prepare<[number, string], number>('SELECT seq FROM feed_items WHERE delivery_seq = ? AND feed = ?').pluck()
  const queueEvent = db.prepare<[string, string, number, number, string, number, string]>(`
    INSERT INTO outbox (feed, codigo, delivery_seq, event_date, event_id, received_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (delivery_seq, feed) WHERE feed != '${CONTACTS_FEED}' DO UPDATE SET codigo = excluded.codigo, record = excluded.record`)

  return {
    /** The contact key an application was bound to by its first mapped delivery. */
    boundKey: (applicationId: string): string | undefined => boundKey.get(applicationId),
    /** Binds a new application to its contact key, with its job and the status that ended it, when known. */
    bind: (applicationId: string, codigo: string, jobId: string | undefined, endedStatus: string | undefined): void => {
      bind.run(applicationId, codigo, jobId ?? null, endedStatus ?? null)
    },
    load: (codigo: string): StoredContact | undefined => load.get(codigo),
    /** `record` is the JSON served to Rubeus, or null with `held` saying why it cannot be. */
    save (codigo: string, fields: string, rendered: { record: string } | { held: string }, now: number): void {
      save.run(codigo, fields, 'record' in rendered ? rendered.record : null, 'held' in rendered ? rendered.held : null, now)
    },
    queueContact: (codigo: string, from: Origin): void => { queueContact.run(codigo, from.seq, from.event_date, from.event_id, from.received_at) },
    /** Whether the delivery's event went out on the feed already (an event is never made twice). */
    eventReleased: (deliverySeq: number, feed: string): boolean => released.get(deliverySeq, feed) !== undefined,
    /** Queues (or, before release, renders again) the delivery's event on a feed. */
    queueEvent (feed: string, codigo: string, from: Origin, record: string): void {
      queueEvent.run(feed, codigo, from.seq, from.event_date, from.event_id, from.received_at, record)
    }
  }
}

export type Contacts = ReturnType<typeof createContacts>
