/** Hostile or broken input: dates outside a sane window, odd application ids, broken text, prototype keys. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { applicationEvent, buildTestApp, person, poll, postDelivery, spawnBridge } from '../helper.js'

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

describe('input bounds', () => {
  test('a date before 2000 or more than a day ahead is refused with 400 saying why, and nothing is stored', async (t) => {
    const { app } = await buildTestApp(t)
    const p = person(1)
    const cases: Array<[Date, RegExp]> = [
      [new Date('1999-12-31T23:59:59Z'), /^date is before 2000-01-01/],
      [new Date('0100-01-01T00:00:00Z'), /^date is before 2000-01-01/],
      [new Date(Date.now() + 25 * 3_600_000), /^date is more than a day ahead/],
      [new Date('9999-12-31T00:00:00Z'), /^date is more than a day ahead/]
    ]
    for (const [i, [date, message]] of cases.entries()) {
      const res = await postDelivery(app, applicationEvent(p, { id: `bad-date-${i}`, event: 'application.created', date, step: 'Cadastro' }))
      assert.equal(res.statusCode, 400, date.toISOString())
      assert.match(res.json().message, message)
    }
    assert.equal(app.store.db.prepare('SELECT count(*) FROM deliveries').pluck().get(), 0)
    const soon = await postDelivery(app, applicationEvent(p, { id: 'ok-date', event: 'application.created', date: new Date(Date.now() + 23 * 3_600_000), step: 'Cadastro' }))
    assert.equal(soon.json().status, 'accepted', 'a clock a few hours ahead is tolerated')
  })

  test('application ids that are not safe integers nor non-empty strings never merge two people', async (t) => {
    const { app } = await buildTestApp(t)
    // 1e400 and 2e400 both parse as Infinity; 2^53 + 1 and 2^53 parse as the same number.
    const bodies = [['1e400', 1], ['2e400', 2], ['9007199254740993', 3], ['9007199254740992', 4]].map(([raw, n]) =>
      JSON.stringify(applicationEvent(person(n as number), { id: `odd-app-${n}`, event: 'application.created', date: new Date(Date.UTC(2025, 6, 1, 12, n as number)), step: 'Cadastro', application: 424242 }))
        .replace('"id":424242', `"id":${raw as string}`))
    for (const body of bodies) assert.equal((await postDelivery(app, body)).json().status, 'accepted')
    const contacts = JSON.parse((await poll(app, 'contatos')).body) as Array<{ codigo: string }>
    assert.deepEqual(contacts.map((c) => c.codigo).sort(), [1, 2, 3, 4].map((n) => person(n).cpf).sort(), 'four people, four contacts')
    const bound = app.store.db.prepare('SELECT application_id FROM applications ORDER BY application_id').pluck().all()
    assert.deepEqual(bound, [], 'none of those ids binds a contact key')
  })

  test('text is cut on code points and unpaired surrogates become U+FFFD before anything is served', async (t) => {
    const { app } = await buildTestApp(t)
    const p = person(7)
    const emojis = '😀'.repeat(150)
    const body = JSON.stringify(applicationEvent(p, {
      id: 'odd-text',
      event: 'application.created',
      date: new Date(Date.UTC(2025, 6, 1)),
      step: 'Cadastro',
      candidate: { name: emojis, lastName: 'X', addressCity: 'Campinas \ud800 do Sul' }
    })).replace('"Cadastro"', '"Cadastro \\udc00"')
    assert.equal((await postDelivery(app, body)).json().status, 'accepted')
    const contactsText = (await poll(app, 'contatos')).body
    const eventsText = (await poll(app, 'candidatura')).body
    for (const text of [contactsText, eventsText]) {
      assert.doesNotMatch(text, /\\u[dD][89a-fA-F]/, 'no escaped surrogate in the JSON text')
      assert.doesNotMatch(text, LONE_SURROGATE)
      assert.equal(Buffer.from(text, 'utf8').toString('utf8'), text, 'survives a strict UTF-8 round trip')
    }
    const [contact] = JSON.parse(contactsText) as Array<{ nome: string, cidade: string }>
    assert.equal([...contact!.nome].length, 150 + 2, 'the name kept whole emoji only (150 of them, a space, X)')
    assert.equal(contact!.cidade, 'Campinas \uFFFD do Sul')
    const [event] = JSON.parse(eventsText) as Array<{ descricao: string }>
    assert.match(event!.descricao, /etapa: Cadastro \uFFFD/)
  })

  test('prototype keys are dropped, not reported as invalid JSON: the delivery is stored and mapped', async (t) => {
    const { app } = await buildTestApp(t)
    const p = person(9)
    const body = JSON.stringify(applicationEvent(p, { id: 'proto-keys', event: 'application.created', date: new Date(Date.UTC(2025, 6, 1)), step: 'Cadastro' }))
      .replace('"data":{', '"data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},')
      .replace(/^\{/, '{"__proto__":{"polluted":true},')
    const res = await postDelivery(app, body)
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().status, 'accepted')
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.deepEqual((JSON.parse((await poll(app, 'contatos')).body) as Array<{ codigo: string }>).map((c) => c.codigo), [p.cpf])
  })

  test('the command line exits quietly when its output pipe closes (status | head)', async () => {
    const run = spawnBridge(undefined, 'cli', ['--help'])
    run.child.stdout?.destroy() // the reader is gone before the first line is written
    const { code } = await run.exited
    assert.doesNotMatch(run.stderr(), /EPIPE|Error/)
    assert.equal(code, 0)
  })
})
