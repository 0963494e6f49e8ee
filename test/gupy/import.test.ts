/** The import and reconcile commands as real processes against a stand-in for Gupy's API, interrupted by SIGKILL too. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { GUPY_TOKEN, gupyStandIn, restApplication, type StandInJob } from '../gupy-stand-in.js'
import { applicationEvent, buildTestApp, cli, person, poll, postDelivery, spawnBridge, type TestApp } from '../helper.js'

/** Three jobs of 150 applications (two pages each), one person per application. */
function jobs (count = 3, perJob = 150): StandInJob[] {
  return Array.from({ length: count }, (_, j) => {
    const job = { id: 2001 + j, name: `Vaga ${j + 1}` }
    return { ...job, applications: Array.from({ length: perJob }, (_, i) => restApplication(j * perJob + i + 1, job)) }
  })
}

const env = (test: TestApp, gupyUrl: string) => ({ DATABASE_PATH: test.config.DATABASE_PATH, GUPY_API_TOKEN: GUPY_TOKEN, GUPY_API_URL: gupyUrl })
const records = async (app: TestApp['app'], feed: string) => JSON.parse((await poll(app, feed)).body) as Array<Record<string, string>>
const apiDeliveries = (test: TestApp) => test.app.store.db.prepare("SELECT count(*) FROM deliveries WHERE event_id LIKE 'gupy-api:%'").pluck().get()

/** Starts the command, and kills it with SIGKILL once it waits for the request the stand-in never answers. */
async function killMidway (args: string[], environment: Record<string, string>, calls: string[], stallAfter: number): Promise<void> {
  const { child, exited } = spawnBridge(undefined, 'cli', args, { env: environment, output: 'ignore' })
  while (calls.length <= stallAfter && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20))
  child.kill('SIGKILL')
  const { code, signal } = await exited
  assert.equal(signal, 'SIGKILL', `killed midway (exit code ${String(code)})`)
}

describe('import', () => {
  test('fills the contacts feed without events; a dry run only counts; a second import adds nothing', async (t) => {
    const gupy = await gupyStandIn(t, { jobs: jobs() })
    const test = await buildTestApp(t)
    const dry = await cli(['import', '--dry-run'], env(test, gupy.url))
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /dry run: jobs: 3; applications: 450; would add: 450; pages: 7; API calls: 7/)
    assert.equal(apiDeliveries(test), 0)

    const first = await cli(['import'], env(test, gupy.url))
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /jobs 3 \/ 3, applications 450/)
    assert.match(first.stdout, /^jobs: 3; applications: 450; added: 450; pages: 7; API calls: 7; time: /m)
    const contacts = await records(test.app, 'contatos')
    assert.equal(contacts.length, 450)
    assert.equal(new Set(contacts.map((c) => c.codigo)).size, 450, 'every person once')
    for (const feed of ['candidatura', 'mudanca-de-etapa', 'reprovacao', 'desistencia']) assert.deepEqual(await records(test.app, feed), [], `${feed}: no event`)

    const second = await cli(['import'], env(test, gupy.url))
    assert.match(second.stdout, /added: 0;/)
    assert.deepEqual(await records(test.app, 'contatos'), [], 'nothing new for Rubeus')
    const only = await cli(['import', '--job', '2002'], env(test, gupy.url))
    assert.match(only.stdout, /^jobs: 1; applications: 150; added: 0; pages: 2; API calls: 2;/m)
    const status = JSON.parse((await cli(['status', '--json'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout)
    assert.equal(status.gupy.import.summary.applications, 150)
    assert.equal((await cli(['import', '--job', 'abc'], env(test, gupy.url))).code, 2)
  })

  test('a newer webhook wins over an imported contact, field by field', async (t) => {
    const job = { id: 2001, name: 'Vaga' }
    const gupy = await gupyStandIn(t, { jobs: [{ ...job, applications: [restApplication(7, job, { updatedAt: '2026-10-01T00:00:00.000Z', candidate: { ...restApplication(7, job).candidate as object, name: 'NOME ANTIGO' } })] }] })
    const test = await buildTestApp(t)
    const newer = applicationEvent(person(7), { id: 'w-7', date: new Date('2026-10-05T00:00:00Z'), step: 'Entrevista', application: 50_000_007, candidate: { name: 'Nome Novo' } })
    assert.equal((await postDelivery(test.app, newer)).json().status, 'accepted')
    assert.equal((await cli(['import'], env(test, gupy.url))).code, 0)
    const [contact] = await records(test.app, 'contatos')
    assert.equal(contact!.codigo, person(7).cpf)
    assert.equal(contact!.nome, 'Nome Novo Teste', 'the webhook is newer than the application\'s updatedAt')
  })

  test('an import killed midway resumes after the jobs it finished; nothing is stored twice', async (t) => {
    const standIn = { jobs: jobs(4, 150), stallAfter: 5 }
    const gupy = await gupyStandIn(t, standIn)
    const test = await buildTestApp(t)
    // Jobs list (1) + job 2001 (2 pages) + job 2002 (2 pages) answered; killed waiting for job 2003.
    await killMidway(['import'], env(test, gupy.url), gupy.calls, 5)
    assert.equal(apiDeliveries(test), 300, 'the pages answered were stored')

    const before = gupy.calls.length
    standIn.stallAfter = Infinity
    const resumed = await cli(['import'], env(test, gupy.url))
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stdout, /jobs: 4 \(2 finished by the interrupted run, skipped\); applications: 300;/)
    assert.ok(!gupy.calls.slice(before).some((c) => c.includes('/jobs/2001/') || c.includes('/jobs/2002/')), 'finished jobs are not asked again')
    assert.equal(apiDeliveries(test), 600)
    const contacts = await records(test.app, 'contatos')
    assert.equal(contacts.length, 600)
    assert.equal(new Set(contacts.map((c) => c.codigo)).size, 600)
  })
})

describe('reconcile command', () => {
  test('killed midway, then run again: every outcome once, in its feed', async (t) => {
    const people = Array.from({ length: 30 }, (_, i) => i + 1)
    const standInJobs: StandInJob[] = people.map((n) => {
      const job = { id: 3000 + n, name: `Vaga ${n}` }
      return { ...job, applications: [restApplication(n, job, { status: n % 2 === 0 ? 'give_up' : 'reproved', endedAt: '2026-10-20T15:00:00.000Z' })] }
    })
    const standIn = { jobs: standInJobs, stallAfter: 20 }
    const gupy = await gupyStandIn(t, standIn)
    const test = await buildTestApp(t)
    for (const n of people) {
      const body = applicationEvent(person(n), { id: `c-${n}`, event: 'application.created', date: new Date('2026-09-01T12:00:00Z'), step: 'Cadastro', application: 50_000_000 + n })
      ;(body.data as { job: { id: number } }).job.id = 3000 + n
      await postDelivery(test.app, body)
    }
    test.app.mapper.catchUp()
    // Two listings per job (reproved, give_up): ten jobs answered, killed waiting for the eleventh.
    await killMidway(['reconcile'], env(test, gupy.url), gupy.calls, 20)
    const stored = apiDeliveries(test) as number
    assert.equal(stored, 10, 'the outcomes of the jobs answered were stored')
    standIn.stallAfter = Infinity

    const again = await cli(['reconcile'], env(test, gupy.url))
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, new RegExp(`jobs asked: ${30 - stored}; .*outcomes found: ${30 - stored} `), 'the ended ones are not asked again')
    const third = await cli(['reconcile'], env(test, gupy.url))
    assert.match(third.stdout, /jobs asked: 0; applications seen: 0; outcomes found: 0 \(reproved 0, give_up 0\); API calls: 0/)

    assert.equal((await records(test.app, 'contatos')).length, 30)
    const reproved = await records(test.app, 'reprovacao')
    const gaveUp = await records(test.app, 'desistencia')
    assert.deepEqual(reproved.map((r) => r.codContato).sort(), people.filter((n) => n % 2 === 1).map((n) => person(n).cpf).sort())
    assert.deepEqual(gaveUp.map((r) => r.codContato).sort(), people.filter((n) => n % 2 === 0).map((n) => person(n).cpf).sort())
  })
})
