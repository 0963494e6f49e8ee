/** The outbound core on its own, without HTTP: turns, batches, outcomes, and order, on a real SQLite file. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Counter, Registry } from 'prom-client'
import { createMapper } from '../../src/mapping/mapper.js'
import { DEFAULT_MAPPING } from '../../src/mapping/mapping-file.js'
import { createOutbound, type OutboundLog } from '../../src/rubeus/outbound.js'
import { Database, openDatabase } from '../../src/store/database.js'
import { WriteHealth } from '../../src/store/plugin.js'
import { createRepositories } from '../../src/store/repositories.js'
import { applicationEvent, person, tempDir } from '../helper.js'

function core (t: TestContext, batchSize = 1000) {
  const file = join(tempDir(t), 'bridge.sqlite')
  const db = openDatabase(file)
  t.after(() => db.close())
  const store = createRepositories(db)
  const mapper = createMapper(store, { mapping: DEFAULT_MAPPING, timeZone: 'America/Sao_Paulo', extras: {} })
  const registers = [new Registry()]
  const metrics = {
    feedBatches: new Counter({ name: 'b', help: 'b', labelNames: ['feed', 'outcome'] as const, registers }),
    feedRecords: new Counter({ name: 'r', help: 'r', labelNames: ['feed'] as const, registers })
  }
  const lines: Array<{ fields: Record<string, unknown>, message: string }> = []
  const log: OutboundLog = { info: (fields, message) => lines.push({ fields, message }), error: (fields, message) => lines.push({ fields, message }) }
  const writes = new WriteHealth()
  const outbound = createOutbound({ feeds: store.feeds, writes, mapper, metrics, batchSize, settleMs: 0 })
  let n = 0
  /** A person applies (created) at day `d` and moves to a second step an hour later. */
  const applies = (who: number, d = 1) => {
    for (const [event, hour, step] of [['application.created', 10, 'Cadastro'], ['application.moved', 11, 'Entrevista']] as const) {
      const date = new Date(Date.UTC(2025, 6, d, hour))
      const body = applicationEvent(person(who), { id: `e-${++n}`, event, date, step, previous: event === 'application.moved' ? 'Cadastro' : undefined })
      store.inbox.record({ eventId: body.id as string, event, eventDate: date.getTime(), receivedAt: Date.now(), body: JSON.stringify(body) })
    }
  }
  const take = (feed: string) => outbound.take(feed, { caller: '127.0.0.1', log })
  const codes = (body: string | undefined) => (JSON.parse(body ?? '[]') as Array<{ codigo?: string, codContato?: string }>).map((r) => r.codigo ?? r.codContato)
  return { file, store, outbound, writes, applies, take, codes, lines }
}

describe('the outbound core', () => {
  test('a delivered batch moves the cursor: the next turn hands out nothing, and the batch log says served', async (t) => {
    const { store, applies, take, codes } = core(t)
    for (let i = 1; i <= 3; i++) applies(i)
    const turn = (await take('contatos'))!
    assert.deepEqual(codes(turn.batch?.body), [1, 2, 3].map((i) => person(i).cpf))
    assert.equal(turn.remaining, 0)
    assert.equal(turn.settle('delivered'), true)
    turn.end()
    const next = (await take('contatos'))!
    assert.equal(next.batch, undefined)
    next.end()
    assert.deepEqual(store.feeds.lastBatches('contatos', 5).map((b) => b.outcome), ['served'])
  })

  test('a batch not delivered (or ended without an outcome) comes again, whole, in the next turn', async (t) => {
    const { store, applies, take, codes } = core(t)
    for (let i = 1; i <= 3; i++) applies(i)
    const first = (await take('contatos'))!
    first.settle('not-delivered')
    first.end()
    const second = (await take('contatos'))!
    assert.deepEqual(codes(second.batch?.body), codes(first.batch?.body))
    second.end() // a driver that failed before it could say
    const third = (await take('contatos'))!
    assert.deepEqual(codes(third.batch?.body), codes(first.batch?.body))
    third.settle('delivered')
    third.end()
    assert.deepEqual(store.feeds.lastBatches('contatos', 5).map((b) => b.outcome), ['served', 'aborted', 'aborted'])
  })

  test('a delivered batch whose outcome cannot be written holds the feed back until it is written; it never goes out twice', async (t) => {
    const { file, store, applies, take, codes, lines } = core(t)
    for (let i = 1; i <= 3; i++) applies(i)
    const turn = (await take('contatos'))!
    const other = new Database(file)
    other.exec('BEGIN IMMEDIATE') // another connection holds the write lock: the outcome cannot be written
    assert.equal(turn.settle('delivered'), false)
    turn.end()
    assert.match(lines.at(-1)!.message, /could not record that the batch was served/)
    await assert.rejects(take('contatos'), /database is locked|cannot be written/, 'unknown: nothing more goes out')
    assert.deepEqual(store.feeds.lastBatches('contatos', 5).map((b) => b.outcome), ['cut'], 'no second batch was cut')
    other.exec('ROLLBACK')
    other.close()
    applies(4)
    const next = (await take('contatos'))!
    assert.deepEqual(codes(next.batch?.body), [person(4).cpf], 'the held outcome is written first; only the new contact follows')
    next.settle('delivered')
    next.end()
    assert.deepEqual(store.feeds.lastBatches('contatos', 5).map((b) => b.outcome), ['served', 'served'])
  })

  test('two drivers on one feed take turns: every record handed out once, none skipped', async (t) => {
    const { applies, take, codes } = core(t, 2)
    for (let i = 1; i <= 9; i++) applies(i)
    const handed: string[] = []
    const driver = async () => {
      for (;;) {
        const turn = (await take('contatos'))!
        try {
          if (turn.batch === undefined) return
          handed.push(...codes(turn.batch.body) as string[])
          await new Promise((resolve) => setTimeout(resolve, 5)) // the other driver waits meanwhile
          turn.settle('delivered')
        } finally {
          turn.end()
        }
      }
    }
    await Promise.all([driver(), driver()])
    assert.equal(handed.length, 9)
    assert.deepEqual([...handed].sort(), Array.from({ length: 9 }, (_, i) => person(i + 1).cpf).sort())
  })

  test('a contact goes out before its events, and its events in date order', async (t) => {
    const { applies, take, codes } = core(t)
    applies(1, 2)
    applies(2, 1)
    const early = (await take('candidatura'))!
    assert.equal(early.batch, undefined, 'no event before its contact was delivered')
    assert.equal(early.remaining, 2, 'both wait for their contact')
    early.end()
    const contacts = (await take('contatos'))!
    assert.deepEqual(codes(contacts.batch?.body), [person(2).cpf, person(1).cpf], 'by date')
    contacts.settle('delivered')
    contacts.end()
    for (const feed of ['candidatura', 'mudanca-de-etapa']) {
      const events = (await take(feed))!
      assert.deepEqual(codes(events.batch?.body), [person(2).cpf, person(1).cpf], `${feed}: by date`)
      events.settle('delivered')
      events.end()
    }
  })

  test('what a driver keeps of a delivered batch is written in its transaction: when it fails, the cursor stays and the feed hands out nothing until it is written', async (t) => {
    const { store, applies, take } = core(t)
    for (let i = 1; i <= 2; i++) applies(i)
    const turn = (await take('contatos'))!
    const batch = turn.batch!
    let fail = true
    const within = () => {
      store.push.enqueue('contatos', batch.firstSeq, batch.lastSeq, Date.now())
      if (fail) throw Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' })
    }
    assert.equal(turn.settle('delivered', within), false)
    turn.end()
    assert.equal(store.push.counts().pending, 0, 'the queue rolled back with the cursor')
    assert.equal(store.feeds.cursor('contatos'), 0)
    fail = false
    const next = (await take('contatos'))! // the unrecorded batch is written first, with what goes with it
    assert.equal(next.batch, undefined)
    next.end()
    assert.equal(store.push.counts().pending, 2)
    assert.equal(store.feeds.cursor('contatos'), batch.lastSeq)
  })
})
