/**
 * One Gupy request budget for every process on a database: two imports at once (child processes),
 * and the service beside an import, against a stand-in that records when each request arrived and
 * answers 429 with `WAF: Rate-Limit` for a while, as Gupy's firewall does.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createGupyBudget } from '../../src/store/gupy-budget.js'
import { GUPY_TOKEN, gupyStandIn, restApplication, type StandInJob } from '../gupy-stand-in.js'
import { applicationEvent, buildTestApp, cli, person, poll, postDelivery, type TestApp } from '../helper.js'

/** `count` jobs of 150 applications (two pages each), one person per application. */
function jobs (count: number, first = 1): StandInJob[] {
  return Array.from({ length: count }, (_, j) => {
    const job = { id: 5001 + j, name: `Vaga ${j + 1}` }
    return { ...job, applications: Array.from({ length: 150 }, (_, i) => restApplication(first + j * 150 + i, job)) }
  })
}

/** 120 a minute: one request every 500 ms, for every process together. */
const PER_MINUTE = 120
const SPACING_MS = 60_000 / PER_MINUTE
/**
 * How late a request may reach the stand-in after its slot (waking up, a process's first request
 * opening its connection: about 100 ms seen); never early. Two processes each pacing alone at this
 * budget would send twice as often: gaps near zero, twenty requests in 5 s.
 */
const JITTER_MS = 250

const env = (test: TestApp, gupyUrl: string) => ({
  DATABASE_PATH: test.config.DATABASE_PATH, GUPY_API_TOKEN: GUPY_TOKEN, GUPY_API_URL: gupyUrl, GUPY_API_REQUESTS_PER_MINUTE: String(PER_MINUTE)
})
const count = (test: TestApp, sql: string) => test.app.store.db.prepare(sql).pluck().get() as number

/** The most requests that arrived within any `windowMs`. */
function busiestWindow (times: number[], windowMs: number): number {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

describe('one Gupy request budget for every process on the database', () => {
  test('two imports at once: together evenly spaced under the budget; a 429 pauses both for its Retry-After; both finish, every application stored once', { timeout: 120_000 }, async (t) => {
    // The 6th request, and every one in the 2 s after it, is refused by the firewall.
    const gupy = await gupyStandIn(t, { jobs: jobs(4), rateLimit: { from: 6, forMs: 2000, retryAfter: '2' } })
    const test = await buildTestApp(t)
    const [one, two] = await Promise.all([cli(['import'], env(test, gupy.url)), cli(['import'], env(test, gupy.url))])
    assert.equal(one.code, 0, one.stderr)
    assert.equal(two.code, 0, two.stderr)

    // Each import: the job list and 4 jobs × 2 pages; one request was refused once and made again.
    const times = gupy.log.map((r) => r.at)
    assert.equal(gupy.log.length, 2 * 9 + 1)
    const gaps = times.slice(1).map((at, i) => at - times[i]!)
    assert.ok(gaps.every((gap) => gap >= SPACING_MS - JITTER_MS), `every two requests of both processes at least ~${SPACING_MS} ms apart: ${gaps.join(', ')}`)
    assert.ok(busiestWindow(times, 5000) <= 5000 / SPACING_MS + 1, `at most ${5000 / SPACING_MS} (+1) in any 5 s`)
    assert.ok(busiestWindow(times, 60_000) <= PER_MINUTE, 'never more than the budget in any 60 s')

    // The 429: answered once, then nobody knocked for the 2 s it asked.
    const refused = gupy.log.filter((r) => r.status === 429)
    assert.equal(refused.length, 1, 'while paused, neither process kept knocking')
    const after = gupy.log.filter((r) => r.at > refused[0]!.at)
    assert.ok(after[0]!.at - refused[0]!.at >= 2000, `the next request came ${after[0]!.at - refused[0]!.at} ms after the 429`)
    assert.match(one.stderr + two.stderr, /^Gupy's rate limit: Gupy answered 429 \(WAF: Rate-Limit\) on GET \/api\/v1\/\S+; every process on this database waits until \d\d:\d\d:\d\d UTC \(2 s\)$/m)
    assert.match(one.stdout + two.stdout, /^waited \d+ s for Gupy's request budget \(1 pause after a 429\)$/m)

    // Every application once, whichever import stored it.
    assert.equal(count(test, "SELECT count(*) FROM deliveries WHERE event_id LIKE 'gupy-api:%:import'"), 600)
    const added = [one, two].map((run) => Number(/added: (\d+);/.exec(run.stdout)![1]))
    assert.equal(added[0]! + added[1]!, 600)
    const contacts = JSON.parse((await poll(test.app, 'contatos')).body) as Array<{ codigo: string }>
    assert.equal(new Set(contacts.map((c) => c.codigo)).size, 600)

    const status = JSON.parse((await cli(['status', '--json'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout)
    assert.equal(status.gupy.budget.pauses, 1)
    assert.ok(status.gupy.budget.lastPauseAt !== null)
    assert.equal(status.gupy.budget.pausedUntil, null, 'the pause is over')
    assert.equal(status.gupy.import.summary.calls, 9 + (status.gupy.import.summary.rateLimited as number))
    const text = (await cli(['status'], { DATABASE_PATH: test.config.DATABASE_PATH, GUPY_API_REQUESTS_PER_MINUTE: '120' })).stdout
    assert.match(text, /^Gupy request budget \(120 a minute for every process on this database\): not paused; last 429 \d+ s ago, 1 in all$/m)
  })

  test('the service and an import share it: a pause the service\'s reconciliation met holds the import back, and status shows it while it lasts', { timeout: 120_000 }, async (t) => {
    const reconciled = { id: 6001, name: 'Vaga R' }
    const standInJobs = [...jobs(1, 1000), { ...reconciled, applications: [restApplication(1, reconciled, { status: 'reproved', endedAt: '2026-10-20T15:00:00.000Z' })] }]
    // The service's first request is refused, and every one in the 3 s after it.
    const gupy = await gupyStandIn(t, { jobs: standInJobs, rateLimit: { from: 1, forMs: 3000, retryAfter: '3' } })
    const test = await buildTestApp(t, { GUPY_API_TOKEN: GUPY_TOKEN, GUPY_API_URL: gupy.url, GUPY_RECONCILE_MINUTES: '10080', GUPY_API_REQUESTS_PER_MINUTE: String(PER_MINUTE) })
    const body = applicationEvent(person(1), { id: 'c-1', event: 'application.created', date: new Date('2026-09-01T12:00:00Z'), step: 'Cadastro', application: 50_000_001 })
    ;(body.data as { job: { id: number } }).job.id = reconciled.id
    await postDelivery(test.app, body)
    test.app.mapper.catchUp()

    const reconciliation = test.app.gupyWork.reconcile!()
    const budget = createGupyBudget(test.app.store.db)
    while (budget.state().pauses === 0) await new Promise((resolve) => setTimeout(resolve, 20)) // the service met the 429
    const during = JSON.parse((await cli(['status', '--json'], { DATABASE_PATH: test.config.DATABASE_PATH })).stdout)
    const importing = cli(['import', '--job', '5001'], env(test, gupy.url))

    const run = await reconciliation
    assert.equal(run.ok, true, run.error)
    assert.deepEqual(run.summary.outcomes, { reproved: 1, give_up: 0 })
    assert.equal(run.summary.rateLimited, 1, 'the 429 was waited out, not fatal')
    const imported = await importing
    assert.equal(imported.code, 0, imported.stderr)
    assert.match(imported.stdout, /^jobs: 1; applications: 150; added: 150;/m)

    const refused = gupy.log.filter((r) => r.status === 429)
    assert.equal(refused.length, 1, 'nobody knocked during the pause')
    const fromImport = gupy.log.filter((r) => r.call.includes('/jobs/5001/'))
    assert.ok(fromImport[0]!.at - refused[0]!.at >= 3000, `the import's first request came ${fromImport[0]!.at - refused[0]!.at} ms after the service's 429`)
    const times = gupy.log.map((r) => r.at)
    const gaps = times.slice(1).map((at, i) => at - times[i]!)
    assert.ok(gaps.every((gap) => gap >= SPACING_MS - JITTER_MS), `the service's and the import's requests spaced together: ${gaps.join(', ')}`)

    assert.match(during.gupy.budget.pauseReason, /^429 \(WAF: Rate-Limit\) on GET \/api\/v1\/jobs\/6001\/applications\?status=reproved/)
    assert.ok(Date.parse(during.gupy.budget.pausedUntil) > Date.parse(during.generatedAt), 'status shows the pause while it lasts')
    const metrics = (await test.app.inject({ method: 'GET', url: '/metrics' })).body
    assert.match(metrics, /^bridge_gupy_rate_limited_total 1$/m)
    assert.match(metrics, /^bridge_gupy_budget_wait_seconds_total [1-9]/m)
  })
})
