/** Migrations: applied in order on a fresh database, skipped when applied, rolled back when broken. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Database } from '../../src/store/sqlite.js'
import { openDatabase } from '../../src/store/database.js'
import { loadMigrations, migrate, schemaVersion } from '../../src/store/migrate.js'
import { createInbox } from '../../src/store/inbox.js'
import { tempDir } from '../helper.js'

function migrationsDir (t: Parameters<typeof tempDir>[0], files: Record<string, string>): URL {
  const dir = join(tempDir(t), 'migrations')
  mkdirSync(dir)
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql)
  return pathToFileURL(dir + '/')
}

describe('migrations', () => {
  test('a fresh database gets every migration, WAL and synchronous=FULL', (t) => {
    const file = join(tempDir(t), 'nested', 'bridge.sqlite')
    const db = openDatabase(file)
    t.after(() => db.close())
    const latest = loadMigrations().at(-1)?.version
    assert.ok(latest !== undefined && latest >= 1)
    assert.equal(schemaVersion(db), latest)
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    assert.equal(db.pragma('synchronous', { simple: true }), 2) // FULL
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1)
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all()
    assert.ok(tables.includes('deliveries'))
  })

  test('reopening an existing database keeps its data and applies nothing twice', (t) => {
    const file = join(tempDir(t), 'bridge.sqlite')
    const first = openDatabase(file)
    first.prepare("INSERT INTO deliveries (event_id, event, event_date, received_at, state) VALUES ('a', 'x', 1, 1, 'ignored')").run()
    first.close()
    const again = openDatabase(file)
    t.after(() => again.close())
    assert.equal(again.prepare('SELECT count(*) FROM deliveries').pluck().get(), 1)
    assert.deepEqual(migrate(again), [])
  })

  test('applies only the migrations above the current version, in order', (t) => {
    const dir = migrationsDir(t, {
      '0001_a.sql': 'CREATE TABLE a (x INTEGER) STRICT;',
      '0002_b.sql': 'CREATE TABLE b (y INTEGER) STRICT; INSERT INTO a VALUES (2);'
    })
    const db = new Database(':memory:')
    t.after(() => db.close())
    assert.deepEqual(migrate(db, loadMigrations(new URL('./', dir)).slice(0, 1)), [1])
    assert.deepEqual(migrate(db, loadMigrations(dir)), [2])
    assert.equal(schemaVersion(db), 2)
    assert.equal(db.prepare('SELECT x FROM a').pluck().get(), 2)
  })

  test('a failing migration is rolled back entirely and leaves the version unchanged', (t) => {
    const dir = migrationsDir(t, {
      '0001_a.sql': 'CREATE TABLE a (x INTEGER) STRICT;',
      '0002_broken.sql': 'CREATE TABLE b (y INTEGER) STRICT; INSERT INTO missing VALUES (1);'
    })
    const db = new Database(':memory:')
    t.after(() => db.close())
    assert.throws(() => migrate(db, loadMigrations(dir)), /no such table: missing/)
    assert.equal(schemaVersion(db), 1)
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all()
    assert.deepEqual(tables, ['a'])
  })

  test('refuses a database from a newer build and a gap in the numbering', (t) => {
    const db = new Database(':memory:')
    t.after(() => db.close())
    db.pragma('user_version = 999')
    assert.throws(() => migrate(db), /schema version 999 is newer/)
    const gap = migrationsDir(t, { '0001_a.sql': 'SELECT 1;', '0003_c.sql': 'SELECT 1;' })
    assert.throws(() => loadMigrations(gap), /0003_c\.sql is out of sequence/)
  })

  test('0004 moves the ids of an existing inbox to delivery_ids, keeping every delivery and its seq', (t) => {
    const file = join(tempDir(t), 'bridge.sqlite')
    const old = new Database(file)
    migrate(old, loadMigrations().slice(0, 3))
    const insert = old.prepare('INSERT INTO deliveries (seq, event_id, event, event_date, received_at, state, payload, error, codigo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    insert.run(3, 'a', 'application.created', 10, 11, 'mapped', '{"x":1}', null, 'c1')
    insert.run(7, 'b', 'application.moved', 20, 21, 'failed', '{"x":2}', 'why', null)
    insert.run(9, 'c', 'application.completed', 30, 31, 'ignored', null, null, null)
    old.close()

    const db = new Database(file)
    t.after(() => db.close())
    migrate(db, loadMigrations().slice(0, 4))
    assert.equal(schemaVersion(db), 4)
    assert.deepEqual(db.prepare('SELECT seq, event_id, event, event_date, received_at, state, payload, error, codigo FROM deliveries ORDER BY seq').raw().all(), [
      [3, 'a', 'application.created', 10, 11, 'mapped', '{"x":1}', null, 'c1'],
      [7, 'b', 'application.moved', 20, 21, 'failed', '{"x":2}', 'why', null],
      [9, 'c', 'application.completed', 30, 31, 'ignored', null, null, null]])
    assert.deepEqual(db.prepare('SELECT event_id, seq FROM delivery_ids ORDER BY seq').raw().all(), [['a', 3], ['b', 7], ['c', 9]])
    assert.equal(db.prepare('SELECT seq FROM delivery_ids_through').pluck().get(), 9)
    const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'deliveries' ORDER BY name").pluck().all()
    assert.deepEqual(indexes, ['deliveries_codigo', 'deliveries_failed', 'deliveries_payload_age', 'deliveries_to_map'])
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok')
  })

  test('0005 keeps the first delivery of an id stored twice above the mark, drops the copy and the id tables', (t) => {
    const file = join(tempDir(t), 'bridge.sqlite')
    const old = new Database(file)
    migrate(old, loadMigrations().slice(0, 4))
    const insert = old.prepare('INSERT INTO deliveries (seq, event_id, event, event_date, received_at, state, payload) VALUES (?, ?, ?, ?, ?, ?, ?)')
    const written = old.prepare('INSERT INTO delivery_ids (event_id, seq) VALUES (?, ?)')
    // Below the mark (seq 2): ids written. Above it: what a running version-4 service still held in
    // memory, and a copy of 'old' and of 'new' that a second process stored.
    insert.run(1, 'old', 'application.created', 10, 11, 'mapped', '{"n":1}')
    insert.run(2, 'other', 'application.completed', 20, 21, 'ignored', null)
    written.run('old', 1)
    written.run('other', 2)
    old.prepare('UPDATE delivery_ids_through SET seq = 2').run()
    insert.run(3, 'new', 'application.moved', 30, 31, 'received', '{"n":3}')
    insert.run(4, 'old', 'application.created', 10, 41, 'received', '{"copy":1}')
    insert.run(5, 'new', 'application.moved', 30, 51, 'received', '{"copy":3}')
    old.close()

    const db = openDatabase(file)
    t.after(() => db.close())
    assert.equal(schemaVersion(db), loadMigrations().at(-1)?.version)
    assert.deepEqual(db.prepare('SELECT seq, event_id, payload FROM deliveries ORDER BY seq').raw().all(), [
      [1, 'old', '{"n":1}'], [2, 'other', null], [3, 'new', '{"n":3}']], 'the first of each id stays, the copies are gone')
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'delivery_ids%'").pluck().all()
    assert.deepEqual(tables, [])
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok')

    const inbox = createInbox(db)
    const delivery = (eventId: string) => ({ eventId, event: 'application.created', eventDate: 1, receivedAt: 1, body: '{}' })
    for (const id of ['old', 'other', 'new']) assert.equal(inbox.record(delivery(id)), 'duplicate', `${id} is still known`)
    assert.equal(inbox.record(delivery('next')), 'accepted')
    const seq = db.prepare("SELECT seq FROM deliveries WHERE event_id = 'next'").pluck().get() as number
    assert.ok(seq > 5, `seq ${seq} goes on after every seq ever used (the dropped copies' too)`)
    assert.equal(inbox.record(delivery('next')), 'duplicate')
  })

  test('0007 gives each known application its job and, where a stored body says so, the status that ended it', (t) => {
    const file = join(tempDir(t), 'bridge.sqlite')
    const old = new Database(file)
    migrate(old, loadMigrations().slice(0, 6))
    const insert = old.prepare("INSERT INTO deliveries (event_id, event, event_date, received_at, state, payload) VALUES (?, 'application.moved', 1, 1, 'mapped', ?)")
    const body = (application: number, job: number, status?: string) => JSON.stringify({ data: { job: { id: job }, application: { id: application, status } } })
    insert.run('a1', body(11, 900))
    insert.run('a2', body(11, 900, 'hired'))
    insert.run('b1', body(12, 901, 'in_process'))
    insert.run('broken', '{not json')
    insert.run('purged', null)
    const bind = old.prepare("INSERT INTO applications (application_id, codigo) VALUES (?, 'c')")
    for (const id of ['11', '12', '13']) bind.run(id)
    old.close()

    const db = openDatabase(file)
    t.after(() => db.close())
    assert.deepEqual(db.prepare('SELECT application_id, job_id, ended_status FROM applications ORDER BY 1').raw().all(), [
      ['11', '900', 'hired'], ['12', '901', null], ['13', null, null]])
  })
})
