/** The mapper's steps: bounded in count and in time, and what a short step leaves is mapped by the next. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { createMapper } from '../../src/mapping/mapper.js'
import { DEFAULT_MAPPING } from '../../src/mapping/mapping-file.js'
import { openDatabase } from '../../src/store/database.js'
import { createRepositories } from '../../src/store/repositories.js'
import { applicationEvent, person, tempDir } from '../helper.js'

test('a step stops once its time is spent, after one delivery at least; the next steps map the rest', (t) => {
  const db = openDatabase(join(tempDir(t), 'bridge.sqlite'))
  t.after(() => db.close())
  const store = createRepositories(db)
  for (let n = 0; n < 30; n++) {
    const date = new Date(Date.UTC(2025, 6, 1, 12, 0, n))
    const body = applicationEvent(person(n), { id: `d-${n}`, event: 'application.created', date, step: 'Cadastro' })
    assert.equal(store.inbox.record({ eventId: `d-${n}`, event: 'application.created', eventDate: date.getTime(), receivedAt: Date.now(), body: JSON.stringify(body) }), 'accepted')
  }
  const mapper = createMapper(store, { mapping: DEFAULT_MAPPING, timeZone: 'America/Sao_Paulo', extras: {} })
  const waiting = () => db.prepare("SELECT count(*) FROM deliveries WHERE state = 'received'").pluck().get()
  assert.equal(mapper.step(100, 0), 1, 'no time left: one delivery, so that every step makes progress')
  assert.equal(waiting(), 29)
  assert.equal(mapper.step(10), 10, 'no time bound: the count bounds it')
  assert.equal(mapper.step(100), 19)
  assert.equal(mapper.step(100), 0)
  assert.equal(db.pragma('synchronous', { simple: true }), 2, 'after a step the connection commits with FULL again (a webhook\'s 200 waits for the disk)')
  assert.equal(db.prepare("SELECT count(*) FROM deliveries WHERE state = 'mapped'").pluck().get(), 30)
})
