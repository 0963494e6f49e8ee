/** A known set of deliveries and polls for the console's tests, full of personal values that must never show. */
import assert from 'node:assert/strict'
import type { App } from '../../src/app.js'
import { applicationEvent, person, poll, postDelivery, type Person } from '../helper.js'

/** Deliveries that carry every kind of personal value, some mapped, one failing, one held; then polls. */
export async function knownTraffic (app: App): Promise<{ people: Person[], personal: string[] }> {
  const people = [1, 2, 3].map((n) => person(900 + n))
  let id = 0
  for (const p of people) {
    for (const event of ['application.created', 'application.moved'] as const) {
      const body = applicationEvent(p, { id: `console-${++id}`, event, date: new Date(Date.now() - 3_600_000 + id * 1000), step: 'Entrevista', previous: 'Cadastro' })
      assert.equal((await postDelivery(app, body)).statusCode, 200)
    }
  }
  const noKey = person(990) // neither a valid CPF nor an e-mail: fails to map
  assert.equal((await postDelivery(app, applicationEvent(noKey, { id: 'console-nokey', date: new Date(), step: 'Cadastro', candidate: { identificationDocument: '111', email: null } }))).statusCode, 200)
  const unreachable = person(991) // a key, but neither phone nor e-mail: held
  assert.equal((await postDelivery(app, applicationEvent(unreachable, { id: 'console-held', date: new Date(), step: 'Cadastro', candidate: { email: null, mobileNumber: null, phoneNumber: null } }))).statusCode, 200)
  assert.equal((await postDelivery(app, { id: 'console-other', event: 'candidate.hired', date: new Date().toISOString(), data: {} })).statusCode, 200)
  assert.equal((await postDelivery(app, applicationEvent(people[0]!, { id: 'console-1', date: new Date(), step: 'x' }))).json().status, 'duplicate')
  assert.equal((await postDelivery(app, '{}', { authorization: 'Bearer wrong-secret-0123456789' })).statusCode, 401)
  assert.equal((await poll(app, 'contatos')).statusCode, 200)
  assert.equal((await poll(app, 'candidatura')).statusCode, 200)
  assert.equal((await poll(app, 'contatos')).statusCode, 200) // nothing left: an empty poll
  const personal = [...people, noKey, unreachable].flatMap((p) => [
    p.cpf, `${p.cpf.slice(0, 3)}.${p.cpf.slice(3, 6)}.${p.cpf.slice(6, 9)}-${p.cpf.slice(9)}`, p.email, p.first, `9${String(p.n).padStart(8, '0')}`
  ])
  return { people, personal }
}
