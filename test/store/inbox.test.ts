/** The inbox: one row per delivery id, the id a unique key every connection to the file agrees on. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { openDatabase, type Database } from '../../src/store/database.js'
import { createInbox, type Delivery } from '../../src/store/inbox.js'
import { buildApp } from '../../src/app.js'
import { applicationEvent, person, postDelivery, tempDir, testConfig } from '../helper.js'

let n = 0
function delivery (eventId: string, event = 'application.created'): Delivery {
  n++
  const body = applicationEvent(person(n), { id: eventId, date: new Date(Date.UTC(2025, 6, 1, 12, 0, n)), step: 'Triagem' })
  return { eventId, event, eventDate: n, receivedAt: n, body: JSON.stringify({ ...body, event }) }
}

function open (t: Parameters<typeof tempDir>[0], file = join(tempDir(t), 'inbox.sqlite')) {
  const db = openDatabase(file)
  t.after(() => { if (db.open) db.close() })
  return { db, file, inbox: createInbox(db) }
}

const rows = (db: Database) => db.prepare('SELECT event_id, state FROM deliveries ORDER BY seq').all()

describe('inbox', () => {
  test('an id is stored once: later copies are duplicates, other events keep only their id', (t) => {
    const { db, inbox } = open(t)
    assert.equal(inbox.record(delivery('a')), 'accepted')
    assert.equal(inbox.record(delivery('b', 'application.completed')), 'ignored')
    assert.equal(inbox.record(delivery('a')), 'duplicate')
    assert.equal(inbox.record(delivery('b', 'application.completed')), 'duplicate')
    assert.equal(inbox.record(delivery('b')), 'duplicate', 'the id decides, not the event')
    assert.equal(inbox.record(delivery('c')), 'accepted')
    assert.deepEqual(rows(db), [
      { event_id: 'a', state: 'received' }, { event_id: 'b', state: 'ignored' }, { event_id: 'c', state: 'received' }])
    assert.equal(db.prepare("SELECT payload FROM deliveries WHERE event_id = 'b'").pluck().get(), null, 'data minimisation')
  })

  test('a row the table refuses is an error, never a duplicate', (t) => {
    const { db, inbox } = open(t)
    const broken = { ...delivery('broken'), eventDate: null as unknown as number } // NOT NULL
    assert.throws(() => inbox.record(broken), /refused by a constraint/)
    assert.deepEqual(rows(db), [])
    assert.equal(inbox.record(delivery('broken')), 'accepted')
  })

  test('a delivery whose transaction was rolled back is not taken for stored', (t) => {
    const { db, inbox } = open(t)
    assert.throws(() => db.transaction(() => {
      assert.equal(inbox.record(delivery('lost')), 'accepted')
      assert.equal(inbox.record(delivery('lost')), 'duplicate', 'a copy in the same transaction sees the first')
      throw new Error('disk full')
    })(), /disk full/)
    assert.deepEqual(rows(db), [])
    assert.equal(inbox.record(delivery('lost')), 'accepted', 'Gupy retries it: it is stored this time')
    assert.equal(inbox.record(delivery('lost')), 'duplicate')
  })

  test('two connections on one file agree: an id stored by either is a duplicate for the other', (t) => {
    const first = open(t)
    const second = open(t, first.file)
    assert.equal(first.inbox.record(delivery('same')), 'accepted')
    assert.equal(second.inbox.record(delivery('same')), 'duplicate')
    assert.equal(second.inbox.record(delivery('other')), 'accepted')
    assert.equal(first.inbox.record(delivery('other')), 'duplicate')
    assert.deepEqual(rows(first.db), [{ event_id: 'same', state: 'received' }, { event_id: 'other', state: 'received' }])
  })

  test('a command and the service on one file: ids stored by one are duplicates for the other', async (t) => {
    const config = testConfig(tempDir(t))
    const app = await buildApp({ config })
    t.after(() => app.close())
    await app.ready()
    const command = open(t, config.DATABASE_PATH) // an operator command's own connection
    const byCommand = delivery('00000000-0000-4000-8000-0000000000c1')
    assert.equal(command.inbox.record(byCommand), 'accepted')
    const res = await postDelivery(app, byCommand.body)
    assert.deepEqual(res.json(), { status: 'duplicate', id: byCommand.eventId })

    const byService = delivery('00000000-0000-4000-8000-0000000000c2')
    assert.equal((await postDelivery(app, byService.body)).json().status, 'accepted')
    assert.equal(command.inbox.record(byService), 'duplicate')
    assert.equal(app.store.db.prepare('SELECT count(*) FROM deliveries').pluck().get(), 2)
  })
})
