/** The import and reconcile commands as real processes against a stand-in for Gupy's API, interrupted by SIGKILL too, and against a Gupy that misbehaves. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { GUPY_TOKEN, gupyStandIn, restApplication, type Misbehaviour, type StandInJob } from '../gupy-stand-in.js'
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

describe('a Gupy that misbehaves (import and reconcile as processes)', () => {
  /** One job of `count` applications, people numbered from `first`. */
  const job = (id: number, first: number, count: number, misbehave?: Misbehaviour): StandInJob => {
    const j = { id, name: `Vaga ${id}` }
    return { ...j, misbehave, applications: Array.from({ length: count }, (_, i) => restApplication(first + i, j)) }
  }
  const statusOf = async (test: TestApp) => JSON.parse((await cli(['status', '--json'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout)
  const lastLine = (text: string) => text.trimEnd().split('\n').at(-1)!

  test('pages that repeat or never end, and a listing without totals: each import ends, stores what came once, and says what it cut', { timeout: 120_000 }, async (t) => {
    const gupy = await gupyStandIn(t, { jobs: [job(2001, 1, 150, 'repeat'), job(2002, 1001, 150, 'endless'), job(2003, 2001, 150, 'no-totals')] })
    const test = await buildTestApp(t)
    const environment = { ...env(test, gupy.url), GUPY_API_TIMEOUT_SECONDS: '1' }

    const repeat = await cli(['import', '--job', '2001'], environment)
    assert.equal(repeat.code, 0, repeat.stderr)
    assert.match(repeat.stdout, /^jobs: 1; applications: 100; added: 100; pages: 1; API calls: 2;/m)
    assert.match(repeat.stdout, /^left out: 1 listing cut short \(1 a page repeated an earlier one\)$/m)
    assert.equal(repeat.stderr, 'Gupy: job 2001\'s applications: a page repeated an earlier one (page 2); the listing was cut there\n')

    const endless = await cli(['import', '--job', '2002'], environment)
    assert.equal(endless.code, 0, endless.stderr)
    assert.match(endless.stdout, /^jobs: 1; applications: 200; added: 200; pages: 2; API calls: 2;/m, 'no further than the 150 results announced allow')
    assert.match(endless.stdout, /^left out: 1 listing cut short \(1 the pages went past the results Gupy announced\)$/m)

    const noTotals = await cli(['import', '--job', '2003'], environment)
    assert.equal(noTotals.code, 0, noTotals.stderr)
    assert.match(noTotals.stdout, /^jobs: 1; applications: 150; added: 150; pages: 2; API calls: 2;/m, 'a listing without totals is followed while its pages come full')
    assert.doesNotMatch(noTotals.stdout, /left out/)

    const status = await statusOf(test)
    assert.deepEqual(status.gupy.import.summary.cut, { repeatedPage: 0, pastTotals: 0, pageCap: 0 })
    assert.equal(apiDeliveries(test), 450)

    // The job list itself repeating, with a job without an id (null): the import of every job ends too, each job once.
    const listing = await gupyStandIn(t, { misbehave: 'repeat', jobs: [job(2101, 3001, 3), job(Number.NaN, 3201, 3), job(2102, 3101, 3)] })
    const all = await cli(['import'], { ...env(test, listing.url), GUPY_API_TIMEOUT_SECONDS: '1' })
    assert.equal(all.code, 0, all.stderr)
    assert.match(all.stdout, /^jobs: 2; applications: 6; added: 6; pages: 3; API calls: 4;/m)
    assert.equal(all.stderr, 'Gupy: the job list: 1 job(s) without a usable id (page 1), left out\n' +
      'Gupy: the job list: a page repeated an earlier one (page 2); the listing was cut there\n')
    const text = (await cli(['status'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout
    assert.match(text, /^last import: ran .*: 2 jobs, 6 applications, 6 added; 1 listing cut short \(1 a page repeated an earlier one\)$/m)
  })

  test('an answer that trickles, an HTML page, truncated JSON, 20 MB: the import stops within its bound with one line saying what came back', { timeout: 120_000 }, async (t) => {
    const gupy = await gupyStandIn(t, { jobs: [job(2001, 1, 150, 'trickle'), job(2002, 201, 10, 'html'), job(2003, 301, 10, 'truncated'), job(2004, 401, 10, 'huge')] })
    const test = await buildTestApp(t)
    const environment = { ...env(test, gupy.url), GUPY_API_TIMEOUT_SECONDS: '1' }
    const path = (id: number) => `GET /api/v1/jobs/${id}/applications?fields=all&perPage=100&page=1`
    const cases: Array<[number, string]> = [
      [2001, `Gupy gave no whole answer within 1 s (GUPY_API_TIMEOUT_SECONDS) to ${path(2001)}, 5 attempt(s)`],
      [2002, `Gupy answered ${path(2002)} with an HTML page (2069 bytes, text/html), not the JSON expected`],
      [2003, `^Gupy answered ${path(2003)} with truncated JSON \\(\\d+ bytes, application/json\\), not the JSON expected`],
      [2004, `Gupy's answer to ${path(2004)} is larger than 10 MB; it was not read further`]
    ]
    for (const [id, reason] of cases) {
      const before = gupy.calls.length
      const run = await cli(['import', '--job', String(id)], environment)
      assert.equal(run.code, 1, run.stdout)
      if (reason.startsWith('^')) assert.match(lastLine(run.stderr), new RegExp(reason.replace(/[?]/g, '\\?')))
      else assert.equal(lastLine(run.stderr), reason)
      assert.doesNotMatch(run.stderr, /SyntaxError|at .*\.ts:\d+/, 'no raw error, no stack')
      assert.match(run.stdout, /the import stopped; run it again to resume/)
      assert.equal(gupy.calls.length - before, id === 2001 ? 5 : 1, 'only a time-out is tried again')
      const status = await statusOf(test)
      assert.equal(status.gupy.import.ok, false)
      assert.equal(status.gupy.import.error, lastLine(run.stderr))
    }
    assert.ok(gupy.written[0]! < 20_000_000, 'the 20 MB answer was not read to its end')
    assert.equal(apiDeliveries(test), 0)

    // Gupy behaves again: the same import goes through.
    for (const j of gupy.jobs) j.misbehave = undefined
    const again = await cli(['import'], environment)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(apiDeliveries(test), 180)
  })

  test('applications without an id or dated outside the window are skipped and counted, never stored; the rest once; a newer webhook still wins', { timeout: 60_000 }, async (t) => {
    const j = { id: 2001, name: 'Vaga' }
    const broken = [
      restApplication(1, j, { id: undefined }),
      restApplication(2, j, { id: null }),
      restApplication(3, j, { updatedAt: '9999-12-31T00:00:00.000Z' }),
      restApplication(4, j, { updatedAt: '1970-01-01T00:00:00.000Z' })
    ]
    const gupy = await gupyStandIn(t, { jobs: [{ ...j, applications: [...broken, ...Array.from({ length: 100 }, (_, i) => restApplication(10 + i, j))] }] })
    const test = await buildTestApp(t)
    const dry = await cli(['import', '--dry-run'], env(test, gupy.url))
    assert.match(dry.stdout, /^dry run: jobs: 1; applications: 104; would add: 100;/m)
    assert.match(dry.stdout, /^left out: 4 applications skipped \(2 without a usable id, 2 dated before 2000 or more than a day ahead\)$/m)

    const run = await cli(['import'], env(test, gupy.url))
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /^jobs: 1; applications: 104; added: 100;/m)
    assert.match(run.stdout, /^left out: 4 applications skipped \(2 without a usable id, 2 dated before 2000 or more than a day ahead\)$/m)
    assert.equal(apiDeliveries(test), 100)
    assert.equal(test.app.store.db.prepare("SELECT count(*) FROM deliveries WHERE event_id LIKE '%undefined%' OR event_id LIKE '%null%'").pluck().get(), 0)
    const status = await statusOf(test)
    assert.deepEqual(status.gupy.import.summary.skipped, { noId: 2, dateOutOfWindow: 2 })
    const text = (await cli(['status'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout
    assert.match(text, /^last import: ran .*; 4 applications skipped \(2 without a usable id, 2 dated before 2000 or more than a day ahead\)$/m)

    // The person whose application said 9999 is not frozen: a webhook of today sets the contact.
    const today = applicationEvent(person(3), { id: 'w-3', event: 'application.created', date: new Date(), step: 'Cadastro', application: 50_000_003, candidate: { name: 'Nome Novo' } })
    assert.equal((await postDelivery(test.app, today)).json().status, 'accepted')
    const contact = (await records(test.app, 'contatos')).find((c) => c.codigo === person(3).cpf)
    assert.equal(contact?.nome, 'Nome Novo Teste')
  })

  test('an error body from Gupy is shown on one line, trimmed, with personal data masked', async (t) => {
    const body = JSON.stringify({ message: 'Candidate Maria Souza already exists', candidate: { name: 'Maria', lastName: 'Souza', email: 'maria.souza@example.com', identificationDocument: person(1).cpf, mobileNumber: '+5511987654321' }, detail: 'x'.repeat(1000) })
    const gupy = await gupyStandIn(t, { jobs: [job(2001, 1, 3)], failures: [{ status: 400, body }] })
    const test = await buildTestApp(t)
    const run = await cli(['import', '--job', '2001'], env(test, gupy.url))
    assert.equal(run.code, 1)
    const line = lastLine(run.stderr)
    assert.ok(line.startsWith('Gupy answered 400: {"message":"Candidate Maria Souza already exists","candidate":{"name":"[name]","lastName":"[name]","email":"[masked]","identificationDocument":"[masked]","mobileNumber":"[masked]"}'), line)
    assert.ok(line.length <= 'Gupy answered 400: '.length + 300)
    for (const value of ['maria.souza@example.com', person(1).cpf, '5511987654321']) assert.ok(!run.stderr.includes(value), value)
  })

  test('reconcile: repeated pages, an application without an id and one ended in 9999 end the run, counted; status says so', { timeout: 60_000 }, async (t) => {
    const j = { id: 3001, name: 'Vaga' }
    const applications = [
      ...Array.from({ length: 100 }, (_, i) => restApplication(i + 1, j, { status: 'reproved', endedAt: '2026-10-20T15:00:00.000Z' })),
      restApplication(101, j, { status: 'give_up', endedAt: '9999-01-01T00:00:00.000Z' }),
      restApplication(102, j, { status: 'give_up', endedAt: '2026-10-20T15:00:00.000Z', id: null })
    ]
    const gupy = await gupyStandIn(t, { jobs: [{ ...j, misbehave: 'repeat', applications }] })
    const test = await buildTestApp(t)
    for (const n of [1, 2, 101]) {
      const body = applicationEvent(person(n), { id: `c-${n}`, event: 'application.created', date: new Date('2026-09-01T12:00:00Z'), step: 'Cadastro', application: 50_000_000 + n })
      ;(body.data as { job: { id: number } }).job.id = j.id
      await postDelivery(test.app, body)
    }
    test.app.mapper.catchUp()
    const run = await cli(['reconcile'], { ...env(test, gupy.url), GUPY_API_TIMEOUT_SECONDS: '1' })
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /^jobs asked: 1; applications seen: 102; outcomes found: 2 \(reproved 2, give_up 0\); API calls: 4;/m)
    assert.match(run.stdout, /^left out: 2 applications skipped \(1 without a usable id, 1 dated before 2000 or more than a day ahead\); 2 listings cut short \(2 a page repeated an earlier one\)$/m)
    assert.equal(run.stderr, 'Gupy: job 3001\'s reproved applications: a page repeated an earlier one (page 2); the listing was cut there\n' +
      'Gupy: job 3001\'s give_up applications: a page repeated an earlier one (page 2); the listing was cut there\n')
    const text = (await cli(['status'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout
    assert.match(text, /^reconciliation: ran .*, 2 outcomes found, 4 API calls; 2 applications skipped \(.*\); 2 listings cut short \(.*\)$/m)
    assert.deepEqual((await records(test.app, 'desistencia')), [], 'the 9999 outcome is not stored')
  })
})
