/** Reconciliation in the service, against a stand-in for Gupy's API: outcomes Gupy never posts reach their feeds once. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { GUPY_TOKEN, gupyStandIn, restApplication, type StandInJob } from '../gupy-stand-in.js'
import { CONSOLE_PASSWORD, applicationEvent, buildTestApp, cli, logSink, person, poll, postDelivery, type TestApp } from '../helper.js'

const JOB = { A: 1001, B: 1002, GONE: 1003, E: 1005 }
const KNOWN: Array<[number, number]> = [[1, JOB.A], [2, JOB.A], [3, JOB.A], [240, JOB.A], [300, JOB.B], [301, JOB.B], [400, JOB.GONE], [600, JOB.E]]
const ended = (status: string) => ({ status, endedAt: '2026-10-20T15:00:00.000Z' })

/** Job A: 250 applications, 142 reproved (two pages of them), only a few known to the bridge; B answers bare arrays. */
function jobs (): StandInJob[] {
  const a = { id: JOB.A, name: 'Analista <Dados> & BI' }
  const applications = Array.from({ length: 250 }, (_, i) => {
    const n = i + 1
    if (n === 1 || (n >= 100 && n <= 240)) return restApplication(n, a, { ...ended('reproved'), disapprovalReason: 'insufficient_knowledge' })
    if (n === 2) return restApplication(n, a, ended('give_up'))
    return restApplication(n, a)
  })
  const b = { id: JOB.B, name: 'Vaga B' }
  const e = { id: JOB.E, name: 'Vaga E' }
  return [
    { ...a, applications },
    { ...b, shape: 'bare', applications: [restApplication(300, b, ended('give_up')), restApplication(301, b)] },
    { id: JOB.GONE, name: 'Vaga removida', gone: true, applications: [] },
    { ...e, applications: [restApplication(600, e, ended('reproved'))] }
  ]
}

/** The service, with the webhooks of the known applications stored and mapped. */
async function service (t: TestContext, gupyUrl: string, logs?: ReturnType<typeof logSink>, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await buildTestApp(t, { GUPY_API_TOKEN: GUPY_TOKEN, GUPY_API_URL: gupyUrl, GUPY_RECONCILE_MINUTES: '10080', ...env }, logs?.stream)
  for (const [n, job] of KNOWN) {
    const body = applicationEvent(person(n), { id: `created-${n}`, event: 'application.created', date: new Date('2026-09-01T12:00:00Z'), step: 'Cadastro', application: 50_000_000 + n })
    ;(body.data as { job: { id: number } }).job.id = job
    assert.equal((await postDelivery(app.app, body)).json().status, 'accepted')
  }
  app.app.mapper.catchUp()
  return app
}

const records = async (app: TestApp['app'], feed: string) => JSON.parse((await poll(app, feed)).body) as Array<Record<string, string>>
const since = (calls: string[], from: number) => calls.slice(from).filter((c) => c.includes('/applications'))

describe('reconciliation', () => {
  test('each reproved / withdrawn known application once, in its feed, after its contact; a second run adds nothing', async (t) => {
    const gupy = await gupyStandIn(t, { jobs: jobs(), failures: [{ status: 429, headers: { 'retry-after': '0' } }, { status: 500 }] })
    const logs = logSink()
    const { app } = await service(t, gupy.url, logs)

    const run = await app.gupyWork.reconcile!()
    assert.equal(run.ok, true, run.error)
    assert.deepEqual({ ...run.summary, calls: undefined, ms: undefined, budgetWaitMs: undefined }, {
      jobs: 4,
      jobsGone: 1,
      applications: 142 + 1 + 1 + 1,
      outcomes: { reproved: 3, give_up: 2 },
      skipped: { noId: 0, dateOutOfWindow: 0 },
      cut: { repeatedPage: 0, pastTotals: 0, pageCap: 0 },
      calls: undefined,
      budgetWaitMs: undefined,
      rateLimited: 1,
      ms: undefined
    })
    assert.equal(gupy.failures.length, 0, 'the 429 and the 500 were answered, and survived')
    assert.ok(gupy.calls.includes(`GET /api/v1/jobs/${JOB.A}/applications?status=reproved p2`), 'the second page of reproved applications was read')

    assert.deepEqual(await records(app, 'reprovacao'), [], 'events wait for their contact')
    assert.equal((await records(app, 'contatos')).length, KNOWN.length)
    const reproved = await records(app, 'reprovacao')
    assert.deepEqual(reproved.map((r) => r.codContato).sort(), [1, 240, 600].map((n) => person(n).cpf).sort())
    const first = reproved.find((r) => r.codContato === person(1).cpf)!
    assert.deepEqual(first, {
      codContato: person(1).cpf,
      descricao: '<p>Reprovado(a) na vaga <b>Analista &lt;Dados&gt; &amp; BI</b> (motivo: insufficient_knowledge).</p>',
      data: '2026-10-20 12:00:00',
      tipoData: 'reprovacao'
    })
    assert.deepEqual((await records(app, 'desistencia')).map((r) => r.codContato).sort(), [2, 300].map((n) => person(n).cpf).sort())

    const before = gupy.calls.length
    const again = await app.gupyWork.reconcile!()
    assert.deepEqual(again.summary.outcomes, { reproved: 0, give_up: 0 })
    const asked = since(gupy.calls, before)
    assert.ok(!asked.some((c) => c.includes(`/jobs/${JOB.E}/`)), 'a job whose known applications all ended is not asked again')
    assert.ok(asked.some((c) => c.includes(`/jobs/${JOB.A}/`)) && asked.some((c) => c.includes(`/jobs/${JOB.B}/`)), 'jobs with open applications are')
    for (const feed of ['reprovacao', 'desistencia']) assert.deepEqual(await records(app, feed), [], `${feed}: nothing twice`)
    assert.equal(app.store.db.prepare("SELECT count(*) FROM deliveries WHERE event_id LIKE 'gupy-api:%'").pluck().get(), 5)

    // The job the API answers 404 for is asked a few times in a row, then no more.
    await app.gupyWork.reconcile!()
    const fourth = gupy.calls.length
    await app.gupyWork.reconcile!()
    assert.ok(!since(gupy.calls, fourth).some((c) => c.includes(`/jobs/${JOB.GONE}/`)), 'after three 404s the job is not asked')

    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    assert.match(metrics, /bridge_reconciliation_outcomes_total\{status="reproved"\} 3/)
    assert.match(metrics, /bridge_gupy_runs_total\{kind="reconcile",outcome="ok"\} 4/)
    const text = logs.text()
    assert.match(text, /gupy reconcile run/)
    for (const n of [1, 2, 240]) for (const value of [person(n).cpf, person(n).email, person(n).first]) assert.ok(!text.includes(value), 'no personal data in the logs')
    assert.ok(!text.includes(GUPY_TOKEN))
  })

  test('a refused token (401): the run fails, is reported by status with the permissions, and ingest and feeds go on', async (t) => {
    const gupy = await gupyStandIn(t, { jobs: jobs(), token: 'another-token-0123456789' })
    const test = await service(t, gupy.url)
    const run = await test.app.gupyWork.reconcile!()
    assert.equal(run.ok, false)
    assert.match(run.error!, /Gupy refused the token \(401\).*listing jobs and listing applications/)

    const status = await cli(['status', '--json'], { DATABASE_PATH: test.config.DATABASE_PATH })
    assert.equal(status.code, 0, status.stderr)
    const report = JSON.parse(status.stdout)
    assert.equal(report.gupy.reconcile.ok, false)
    assert.match(report.gupy.reconcile.error, /refused the token \(401\)/)
    const text = await cli(['status'], { DATABASE_PATH: test.config.DATABASE_PATH })
    assert.match(text.stdout, /reconciliation: FAILED .*Gupy refused the token \(401\)/)
    assert.match(text.stdout, /Gupy subscriptions \(watchdog\): never run/)

    const more = applicationEvent(person(9), { id: 'after-failure', event: 'application.created', date: new Date(), step: 'Cadastro' })
    assert.equal((await postDelivery(test.app, more)).json().status, 'accepted')
    assert.equal((await records(test.app, 'contatos')).length, KNOWN.length + 1)
  })
})

describe('reconciliation against a Gupy that misbehaves', () => {
  test('an answer that trickles ends the run at the deadline with its reason; a run asked for meanwhile joins it; the next run starts afresh', { timeout: 120_000 }, async (t) => {
    const standInJobs = jobs()
    const gupy = await gupyStandIn(t, { jobs: standInJobs })
    const logs = logSink()
    const test = await service(t, gupy.url, logs, { GUPY_API_TIMEOUT_SECONDS: '1' })
    const jobA = standInJobs.find((j) => j.id === JOB.A)!
    jobA.misbehave = 'trickle'

    const stuck = test.app.gupyWork.reconcile!()
    const joined = test.app.gupyWork.reconcile!()
    assert.equal(joined, stuck, 'a run under way is joined, not doubled')
    const run = await stuck
    assert.equal(run.ok, false)
    assert.equal(run.error, `Gupy gave no whole answer within 1 s (GUPY_API_TIMEOUT_SECONDS) to GET /api/v1/jobs/${JOB.A}/applications?status=reproved&fields=all&perPage=100&page=1, 5 attempt(s)`)
    assert.match(logs.text(), /"reason":"Gupy gave no whole answer within 1 s/)
    const failed = JSON.parse((await cli(['status', '--json'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout)
    assert.equal(failed.gupy.reconcile.ok, false)
    assert.equal(failed.gupy.lastReconciliation.summary, `failed: ${run.error!}`)

    jobA.misbehave = undefined
    const next = test.app.gupyWork.reconcile!()
    assert.notEqual(next, stuck, 'a new run, not the finished one')
    const done = await next
    assert.equal(done.ok, true, done.error)
    assert.deepEqual(done.summary.outcomes, { reproved: 3, give_up: 2 })
  })

  test('pages that repeat without end: the run ends, stores each outcome once, and the log, status and console say what was cut', { timeout: 60_000 }, async (t) => {
    const standInJobs = jobs()
    for (const job of standInJobs) job.misbehave = 'repeat'
    const gupy = await gupyStandIn(t, { jobs: standInJobs })
    const logs = logSink()
    const test = await service(t, gupy.url, logs)
    const run = await test.app.gupyWork.reconcile!()
    assert.equal(run.ok, true, run.error)
    // Job A's reproved listing repeats its first 100 (of 142): the outcomes on its first page are found.
    assert.deepEqual(run.summary.outcomes, { reproved: 2, give_up: 2 })
    assert.deepEqual(run.summary.cut, { repeatedPage: 3, pastTotals: 0, pageCap: 0 }, 'job A twice, job E once (its empty give_up list ends at once; job B answers bare lists)')
    assert.ok(gupy.calls.length < 20, `${gupy.calls.length} requests`)
    assert.match(logs.text(), /Gupy: job 1001's reproved applications: a page repeated an earlier one \(page 2\); the listing was cut there/)
    const report = JSON.parse((await test.app.inject({ method: 'GET', url: '/console/status.json', headers: { authorization: `Basic ${Buffer.from(`operator:${CONSOLE_PASSWORD}`).toString('base64')}` } })).body)
    assert.match(report.gupy.lastReconciliation.summary, /; 3 listings cut short \(3 a page repeated an earlier one\)(;|$)/)
  })
})
