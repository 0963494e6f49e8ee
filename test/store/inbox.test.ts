/** The inbox: one row per delivery id, whether that id is still remembered in memory or already written. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { openDatabase, type Database } from '../../src/store/database.js'
import { createInbox, type Delivery } from '../../src/store/inbox.js'
import { createMapper } from '../../src/store/mapper.js'
import { loadMapping } from '../../src/mapping/mapping-file.js'
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
const written = (db: Database) => db.prepare('SELECT event_id FROM delivery_ids ORDER BY seq').pluck().all()
const through = (db: Database) => db.prepare('SELECT seq FROM delivery_ids_through').pluck().get()

describe('inbox', () => {
  test('an id is a duplicate while it is remembered, and once it is written', (t) => {
    const { db, inbox } = open(t)
    assert.equal(inbox.record(delivery('a')), 'accepted')
    assert.equal(inbox.record(delivery('b', 'application.completed')), 'ignored')
    assert.deepEqual(written(db), [], 'ids are written behind ingest')
    assert.equal(inbox.remembered(), 2)
    assert.equal(inbox.record(delivery('a')), 'duplicate')
    assert.equal(inbox.record(delivery('b', 'application.completed')), 'duplicate')

    assert.equal(inbox.index(1000), 2)
    assert.deepEqual(written(db), ['a', 'b'])
    assert.equal(inbox.remembered(), 0, 'written ids are forgotten')
    assert.equal(inbox.record(delivery('a')), 'duplicate')
    assert.equal(inbox.record(delivery('b')), 'duplicate')
    assert.equal(inbox.record(delivery('c')), 'accepted')
    assert.deepEqual(rows(db), [
      { event_id: 'a', state: 'received' }, { event_id: 'b', state: 'ignored' }, { event_id: 'c', state: 'received' }])
  })

  test('index() merges the unwritten ids in key order, `limit` per transaction, and moves its mark with the last', (t) => {
    const { db, inbox } = open(t)
    for (const id of ['d', 'b', 'e', 'a', 'c']) inbox.record(delivery(id))
    assert.equal(inbox.mergeDue(), false, 'five ids do not make a merge during a burst')
    assert.equal(inbox.index(2), 2)
    assert.equal(inbox.mergeDue(), true, 'a merge is under way')
    assert.deepEqual(written(db), ['b', 'a'], 'the two smallest ids (listed by seq)')
    assert.equal(through(db), 0, 'the mark waits for the whole merge')
    assert.equal(inbox.remembered(), 5)
    assert.equal(inbox.record(delivery('a')), 'duplicate')
    assert.equal(inbox.record(delivery('e')), 'duplicate')
    assert.equal(inbox.index(2), 2)
    assert.equal(inbox.index(2), 1)
    assert.deepEqual(written(db), ['d', 'b', 'e', 'a', 'c'])
    assert.equal(through(db), 5)
    assert.equal(inbox.remembered(), 0)
    assert.equal(inbox.mergeDue(), false)
    assert.equal(inbox.index(10), 0)
  })

  test('a merge cut short by a crash is finished by the next process', (t) => {
    const { db, file, inbox } = open(t)
    for (const id of ['c', 'a', 'b']) inbox.record(delivery(id))
    assert.equal(inbox.index(2), 2)
    db.close()

    const again = open(t, file)
    assert.equal(again.inbox.catchUp(), 3)
    assert.deepEqual(rows(again.db).map((r) => (r as { event_id: string }).event_id), ['c', 'a', 'b'], 'no delivery taken for a copy')
    assert.deepEqual(written(again.db), ['c', 'a', 'b'])
    assert.equal(through(again.db), 3)
    assert.equal(again.inbox.record(delivery('b')), 'duplicate')
  })

  test('index() commits on its own: it refuses to run inside a transaction', (t) => {
    const { db, inbox } = open(t)
    inbox.record(delivery('a'))
    assert.throws(() => db.transaction(() => inbox.index(10))(), /outside a transaction/)
    assert.deepEqual(written(db), [])
  })

  test('a delivery whose transaction was rolled back is not remembered as stored', (t) => {
    const { db, inbox } = open(t)
    assert.throws(() => db.transaction(() => {
      assert.equal(inbox.record(delivery('lost')), 'accepted')
      assert.equal(inbox.record(delivery('lost')), 'duplicate', 'a copy in the same transaction sees the first')
      throw new Error('disk full')
    })(), /disk full/)
    assert.deepEqual(rows(db), [])
    assert.equal(inbox.record(delivery('other')), 'accepted') // may take the rolled-back row's seq
    assert.equal(inbox.record(delivery('lost')), 'accepted', 'Gupy retries it: it is stored this time')
    assert.equal(inbox.record(delivery('lost')), 'duplicate')
    inbox.catchUp()
    assert.deepEqual(written(db), ['other', 'lost'])
  })

  test('after a crash, a new process writes the ids the old one left in memory before it stores anything', (t) => {
    const { db, file, inbox } = open(t)
    inbox.record(delivery('a'))
    inbox.record(delivery('b'))
    db.close() // the process dies: its memory is gone, the ids were never written

    const again = open(t, file)
    assert.equal(again.inbox.catchUp(), 2)
    assert.equal(again.inbox.record(delivery('a')), 'duplicate')
    assert.equal(again.inbox.record(delivery('b')), 'duplicate')
    assert.deepEqual(written(again.db), ['a', 'b'])
  })

  test('a copy stored by a second process is dropped when ids are written, and never mapped', (t) => {
    const first = open(t)
    const second = open(t, first.file)
    assert.equal(first.inbox.record(delivery('same')), 'accepted')
    assert.equal(second.inbox.record(delivery('same')), 'accepted') // it cannot know: a misconfiguration
    const mapper = createMapper(first.db, { mapping: loadMapping(undefined), timeZone: 'America/Sao_Paulo', extras: {}, inbox: first.inbox })
    assert.equal(mapper.step(10), 0, 'nothing is mapped before its id is written')
    assert.equal(mapper.catchUp(), 1)
    assert.deepEqual(rows(first.db), [{ event_id: 'same', state: 'mapped' }])
    assert.deepEqual(written(first.db), ['same'])
  })

  test('the service writes the ids a killed run left in memory before it takes a delivery', async (t) => {
    const config = testConfig(tempDir(t))
    const { db, inbox } = open(t, config.DATABASE_PATH)
    const stored = delivery('0b6f8f2e-3c1d-4a8e-9f57-2d1c6b7a9e01')
    inbox.record(stored)
    db.close() // killed before the id was written

    const app = await buildApp({ config })
    t.after(() => app.close())
    await app.ready()
    const res = await postDelivery(app, stored.body)
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { status: 'duplicate', id: stored.eventId })
    assert.equal(app.store.db.prepare('SELECT count(*) FROM deliveries').pluck().get(), 1)
  })
})
