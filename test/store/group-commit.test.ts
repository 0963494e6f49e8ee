/** Group commit: one transaction for what arrives together, each caller answered after its commit. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Database } from '../../src/store/sqlite.js'
import { GroupCommit } from '../../src/store/group-commit.js'
import { tempDir } from '../helper.js'

function setup (t: Parameters<typeof tempDir>[0]) {
  const file = join(tempDir(t), 'gc.sqlite')
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE items (v TEXT PRIMARY KEY) STRICT')
  t.after(() => db.close())
  const insert = db.prepare('INSERT INTO items (v) VALUES (?) ON CONFLICT DO NOTHING RETURNING v')
  const commits: number[] = []
  const gc = new GroupCommit(db, (v: string) => {
    if (v === 'poison') throw new Error('poisoned item')
    return insert.get(v) === undefined ? 'duplicate' : 'new'
  })
  gc.onCommit((size) => commits.push(size))
  return { file, db, gc, commits }
}

describe('GroupCommit', () => {
  test('items submitted together share one transaction and see each other', async (t) => {
    const { gc, commits } = setup(t)
    const results = await Promise.all(['a', 'b', 'a', 'c'].map((v) => gc.submit(v)))
    assert.deepEqual(results, ['new', 'new', 'duplicate', 'new'])
    assert.deepEqual(commits, [4])
  })

  test('a lone item is committed in the turn of the loop it arrived in', async (t) => {
    const { gc, commits } = setup(t)
    const pending = gc.submit('x')
    await new Promise(setImmediate)
    assert.deepEqual(commits, [1])
    assert.equal(await pending, 'new')
  })

  test('while each turn of the loop brings more items, the batch waits for them (a few turns at most)', async (t) => {
    const { gc, commits } = setup(t)
    const results = [gc.submit('a'), gc.submit('b')]
    // One more item in each of the following turns, as from other connections.
    for (let turn = 1; turn <= 3; turn++) {
      await new Promise(setImmediate)
      results.push(gc.submit(`turn ${turn}`))
    }
    await Promise.all(results)
    // The first batch took the items of the next two turns, then committed (three turns in all);
    // the item of the third turn started a batch of its own.
    assert.deepEqual(commits, [4, 1])
  })

  test('a caller is answered only after the data is visible to another connection', async (t) => {
    const { file, gc } = setup(t)
    const reader = new Database(file, { readonly: true })
    t.after(() => reader.close())
    const pending = gc.submit('x')
    assert.equal(reader.prepare('SELECT count(*) FROM items').pluck().get(), 0)
    await pending
    assert.equal(reader.prepare('SELECT count(*) FROM items').pluck().get(), 1)
  })

  test('a failing item is rejected alone; its neighbours are committed', async (t) => {
    const { db, gc } = setup(t)
    const results = await Promise.allSettled(['a', 'poison', 'b'].map((v) => gc.submit(v)))
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
    assert.deepEqual(db.prepare('SELECT v FROM items ORDER BY v').pluck().all(), ['a', 'b'])
  })

  test('when the database is locked by another writer every caller is rejected and nothing is half-written', async (t) => {
    const { file, db, gc } = setup(t)
    db.pragma('busy_timeout = 50')
    const locker = new Database(file)
    t.after(() => locker.close())
    locker.exec('BEGIN IMMEDIATE')
    const results = await Promise.allSettled(['a', 'b'].map((v) => gc.submit(v)))
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
    locker.exec('ROLLBACK')
    assert.equal(await gc.submit('a'), 'new')
  })

  test('close commits what is queued, then refuses new items', async (t) => {
    const { db, gc } = setup(t)
    const queued = gc.submit('late')
    gc.close()
    assert.equal(db.prepare('SELECT count(*) FROM items').pluck().get(), 1)
    assert.equal(await queued, 'new')
    await assert.rejects(gc.submit('after'), { name: 'ClosedError' })
  })
})
