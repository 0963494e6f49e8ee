/** Operator commands that change data, each run as a real process next to a running app. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { copyPaced } from '../../src/commands/backup.js'
import { Database } from '../../src/store/sqlite.js'
import { applicationEvent, buildTestApp, cli, person, poll, postDelivery, tempDir, type TestApp } from '../helper.js'

const day = (d: number) => new Date(Date.UTC(2025, 6, d, 12))
const env = ({ config }: TestApp, extra: Record<string, string> = {}) => ({
  DATABASE_PATH: config.DATABASE_PATH, GUPY_WEBHOOK_SECRETS: config.GUPY_WEBHOOK_SECRETS.join(','), RUBEUS_FEED_TOKENS: config.RUBEUS_FEED_TOKENS.join(','), ...extra
})

async function seed (app: TestApp['app'], people: number): Promise<void> {
  for (let n = 0; n < people; n++) {
    const p = person(n)
    assert.equal((await postDelivery(app, applicationEvent(p, { id: `c-${n}`, event: 'application.created', date: day(1), step: 'Cadastro' }))).statusCode, 200)
    assert.equal((await postDelivery(app, applicationEvent(p, { id: `m-${n}`, date: day(2), step: 'Entrevista', previous: 'Cadastro' }))).statusCode, 200)
  }
}

describe('rewind', () => {
  test('a batch consumed by mistake is served again, by batch id or by time; mistakes exit 2', async (t) => {
    const test = await buildTestApp(t, { FEED_BATCH_SIZE: '2' })
    await seed(test.app, 5)
    const first = await poll(test.app, 'contatos')
    const second = await poll(test.app, 'contatos')
    assert.equal(second.headers['x-batch-id'], '2')

    const res = await cli(['rewind', '--feed', 'contatos', '--batch', '2'], env(test))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /contatos: cursor moved back to before batch 2; 2 records will be served again/)
    assert.equal((await poll(test.app, 'contatos')).body, second.body)

    const since = await cli(['rewind', '--feed', 'contatos', '--since', '2000-01-01T00:00:00Z'], env(test))
    assert.equal(since.code, 0, since.stderr)
    assert.equal((await poll(test.app, 'contatos')).body, first.body)

    const wrongFeed = await cli(['rewind', '--feed', 'candidatura', '--batch', '2'], env(test))
    assert.equal(wrongFeed.code, 1)
    assert.match(wrongFeed.stderr, /batch 2 belongs to the feed contatos, not candidatura/)
    const usage = await cli(['rewind', '--feed', 'nope', '--batch', '1'], env(test))
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /--feed must be one of: contatos, candidatura, mudanca-de-etapa/)
    assert.equal((await cli(['rewind', '--feed', 'contatos'], env(test))).code, 2)
  })
})

describe('reprocess', () => {
  test('after a mapping change: contacts take the new mapping and come again, released events are not repeated', async (t) => {
    const test = await buildTestApp(t)
    await seed(test.app, 3)
    assert.equal(JSON.parse((await poll(test.app, 'contatos')).body).length, 3)
    assert.equal(JSON.parse((await poll(test.app, 'candidatura')).body).length, 3)

    const mappingFile = join(test.dir, 'mapping.json')
    writeFileSync(mappingFile, JSON.stringify({ contact: { camposPersonalizados: { vaga: 'data.job.name' } } }))
    const res = await cli(['reprocess', '--all'], env(test, { MAPPING_FILE: mappingFile }))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^6 deliveries to map again\nmapped 6; failed now: none\n$/)

    const again = JSON.parse((await poll(test.app, 'contatos')).body)
    assert.equal(again.length, 3)
    assert.ok(again.every((c: { camposPersonalizados?: { vaga: string } }) => c.camposPersonalizados?.vaga === 'VAGA TESTE INTEGRAÇÃO - Auxiliar de Produção'))
    assert.equal((await poll(test.app, 'candidatura')).body, '[]', 'released events are not made twice')
    assert.equal(JSON.parse((await poll(test.app, 'mudanca-de-etapa')).body).length, 3, 'unreleased events come once')
  })

  test('failed deliveries are mapped again after a fix', async (t) => {
    const test = await buildTestApp(t)
    await postDelivery(test.app, applicationEvent(person(1), { id: 'k', event: 'application.created', date: day(1), step: 'Cadastro', candidate: { email: null } }))
    test.app.mapper.catchUp()
    test.app.store.db.prepare("UPDATE deliveries SET state = 'failed', error = 'simulated bug'").run()
    const res = await cli(['reprocess'], env(test))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /1 deliveries to map again\nmapped 1; failed now: none/)
  })
})

describe('retention', () => {
  test('purge removes old bodies and served records; a re-sent old delivery is still a duplicate', async (t) => {
    const test = await buildTestApp(t)
    await seed(test.app, 2)
    await poll(test.app, 'contatos')
    await poll(test.app, 'candidatura')
    const old = Date.now() - 40 * 86_400_000
    test.app.store.db.prepare('UPDATE deliveries SET received_at = ?').run(old)
    test.app.store.db.prepare('UPDATE feed_items SET released_at = ?').run(old)
    test.app.store.db.prepare('UPDATE feed_batches SET cut_at = ?').run(old)

    const res = await cli(['purge'], env(test))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /removed, older than 30 days: 4 raw bodies, 4 served records, 2 batch log entries, 0 contacts/)
    const db = test.app.store.db
    assert.equal(db.prepare('SELECT count(*) FROM deliveries WHERE payload IS NOT NULL').pluck().get(), 0)
    assert.equal(db.prepare('SELECT count(*) FROM deliveries').pluck().get(), 4, 'ids stay as tombstones')
    const again = await postDelivery(test.app, applicationEvent(person(0), { id: 'c-0', event: 'application.created', date: day(1), step: 'Cadastro' }))
    assert.equal(again.json().status, 'duplicate')
    assert.equal(JSON.parse((await poll(test.app, 'mudanca-de-etapa')).body).length, 2, 'waiting records are kept')
  })
})

describe('erase', () => {
  test('the person\'s CPF, e-mail and name appear nowhere in the database files afterwards; others stay', async (t) => {
    const test = await buildTestApp(t)
    await seed(test.app, 3)
    await poll(test.app, 'contatos')
    const gone = person(1)
    const res = await cli(['erase', '--cpf', gone.cpf], env(test))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /erased: 1 contacts, 1 feed records, 2 raw bodies/)
    await test.app.close() // the service stops: its own connection checkpoints and closes
    const files = [test.config.DATABASE_PATH, `${test.config.DATABASE_PATH}-wal`].filter(existsSync)
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)))
    for (const value of [gone.cpf, gone.email, gone.first]) assert.equal(bytes.indexOf(value), -1, 'erased value found in the files')
    assert.notEqual(bytes.indexOf(person(2).email), -1, 'another person is still there')
    const db = new Database(test.config.DATABASE_PATH, { readonly: true })
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM deliveries WHERE event_id IN ('c-1', 'm-1')").get(), { n: 2 }, 'tombstones stay')
    db.close()
  })

  test('by e-mail, any case; neither option is a usage error', async (t) => {
    const test = await buildTestApp(t)
    await seed(test.app, 2)
    const res = await cli(['erase', '--email', person(0).email.toUpperCase()], env(test))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /erased: 1 contacts/)
    assert.equal((await cli(['erase'], env(test))).code, 2)
  })
})

describe('backup', () => {
  test('an online copy that opens and holds the data; an existing file needs --force', async (t) => {
    const test = await buildTestApp(t)
    await seed(test.app, 2)
    const target = join(test.dir, 'copy.sqlite')
    for (const leftover of ['copy.sqlite.partial', 'copy.sqlite.partial-journal']) writeFileSync(join(test.dir, leftover), 'what a killed run left')
    const res = await cli(['backup', target], env(test))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /backup written to .*copy\.sqlite: 4 deliveries, integrity ok/)
    // One self-contained file: nothing half-written, no -wal or -shm beside it.
    assert.deepEqual(readdirSync(test.dir).filter((name) => name.startsWith('copy.sqlite')), ['copy.sqlite'])
    const copy = new Database(target, { readonly: true })
    assert.equal(copy.pragma('journal_mode', { simple: true }), 'delete')
    assert.equal(copy.prepare('SELECT count(*) FROM contacts').pluck().get(), 2)
    copy.close()
    const again = await cli(['backup', target], env(test))
    assert.equal(again.code, 2)
    assert.match(again.stderr, /exists; add --force/)
    assert.equal((await cli(['backup', target, '--force'], env(test))).code, 0)
  })
})

describe('backup, step by step', () => {
  test('every step reads the snapshot taken when it began, while another connection writes between steps', async (t) => {
    const dir = tempDir(t)
    const source = new Database(join(dir, 'source.sqlite'))
    source.pragma('journal_mode = WAL')
    source.exec('CREATE TABLE rows (n INTEGER PRIMARY KEY, filler BLOB)')
    const insert = source.prepare('INSERT INTO rows (filler) VALUES (zeroblob(3000))')
    for (let i = 0; i < 300; i++) insert.run()
    const writer = new Database(join(dir, 'source.sqlite'))
    const write = writer.prepare('INSERT INTO rows (filler) VALUES (zeroblob(3000))')
    let written = 0
    let writing = true
    const writeEveryTurn = (): void => {
      if (!writing || written >= 2000) return
      write.run()
      written++
      setImmediate(writeEveryTurn)
    }
    setImmediate(writeEveryTurn)
    const lines: string[] = []
    await copyPaced(source, join(dir, 'copy.sqlite'), (line) => lines.push(line), 1)
    writing = false
    writer.close()
    source.close()
    assert.ok(written > 100, `the writer wrote ${written} rows while the copy ran`)
    assert.ok(lines.length >= 9, lines.join(''))
    const copy = new Database(join(dir, 'copy.sqlite'), { readonly: true })
    assert.equal(copy.prepare('SELECT count(*) FROM rows').pluck().get(), 300)
    assert.equal(copy.pragma('quick_check', { simple: true }), 'ok')
    copy.close()
  })
})

describe('simulate', () => {
  test('posts fake people to a running bridge; the feeds then hold them', async (t) => {
    const test = await buildTestApp(t)
    await test.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = test.app.server.address() as { port: number }
    const res = await cli(['simulate', '--url', `http://127.0.0.1:${port}`, '--people', '12'], env(test))
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /posted \d+ deliveries for 12 fake people .*: \d+ accepted/)
    const contacts = JSON.parse((await poll(test.app, 'contatos')).body) as Array<{ nome: string, emailPrincipal: string, cpf: string }>
    assert.equal(contacts.length, 12)
    assert.ok(contacts.every((c) => c.nome.includes('(simulação)') && c.emailPrincipal.endsWith('@example.com') && c.cpf.length === 11))
    assert.equal(JSON.parse((await poll(test.app, 'candidatura')).body).length, 12)
  })
})
