/**
 * Import benchmark: 100 jobs and 20,000 applications from a stand-in for Gupy's API (its own process)
 * that answers 429 beyond 500 requests a minute. Prints API calls, pages, applications per second,
 * wall time, the importer's peak RSS, and that the contacts feed then holds every person once.
 */
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGupyApi } from '../src/gupy/api.js'
import { REQUESTS_PER_MINUTE } from '../src/vocabulary/gupy-api.js'
import { importApplications } from '../src/gupy/import.js'
import { createMapper } from '../src/mapping/mapper.js'
import { DEFAULT_MAPPING } from '../src/mapping/mapping-file.js'
import { CONTACTS_FEED } from '../src/vocabulary/rubeus-feeds.js'
import { openDatabase } from '../src/store/database.js'
import { createRepositories } from '../src/store/repositories.js'
import { GUPY_TOKEN } from '../test/gupy-stand-in.js'
import { announcedPort, spawnScript } from '../test/processes.js'

const MB = 1024 * 1024

export async function runImportBenchmark (): Promise<void> {
  const jobs = Number(process.env.BENCH_JOBS ?? 100)
  const applications = Number(process.env.BENCH_APPLICATIONS ?? 20_000)
  const standIn = spawnScript(undefined, new URL('./gupy-stand-in.ts', import.meta.url), [],
    { output: 'stderr', env: { BENCH_JOBS: String(jobs), BENCH_APPLICATIONS: String(applications) } })
  const { child } = standIn
  const port = await announcedPort(standIn)
  const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-'))
  try {
    console.log(`import: ${jobs} jobs, ${applications} applications from a stand-in for Gupy's API that answers 429 beyond 500 requests a minute`)
    const db = openDatabase(join(dir, 'bridge.sqlite'))
    const store = createRepositories(db)
    const mapper = createMapper(store, { mapping: DEFAULT_MAPPING, timeZone: 'America/Sao_Paulo', extras: {} })
    let waits = 0
    const api = createGupyApi({ baseUrl: `http://127.0.0.1:${port}`, token: GUPY_TOKEN, onWait: () => { waits++ } })
    const rssBefore = process.memoryUsage().rss
    const started = process.hrtime.bigint()
    let lastShown = 0
    const summary = await importApplications({
      api,
      store,
      afterPage: () => { mapper.catchUp() },
      onProgress: (p) => {
        if (p.elapsedMs - lastShown < 5000) return
        lastShown = p.elapsedMs
        console.log(`  jobs ${p.jobsDone} / ${p.jobs}, applications ${p.applications}`)
      }
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const peakRss = process.resourceUsage().maxRSS * 1024
    const served = await (await fetch(`http://127.0.0.1:${port}/stand-in/stats`)).json() as { requests: number, pages: number, throttled: number }

    store.feeds.release(CONTACTS_FEED, Date.now(), 0, Number.MAX_SAFE_INTEGER)
    const feed = db.prepare<[string], { records: number, people: number }>(
      'SELECT count(*) AS records, count(DISTINCT codigo) AS people FROM feed_items WHERE feed = ?').get(CONTACTS_FEED)!
    db.close()

    console.log(`  API calls: ${summary.calls} (the stand-in answered ${served.requests}, ${served.throttled} of them 429; the client waited ${waits} times); pages: ${summary.pages}`)
    console.log(`  applications: ${summary.applications} stored ${summary.added}, ${(summary.applications / seconds).toFixed(0)} applications/s; wall time ${seconds.toFixed(1)} s ` +
      `(pacing at ${REQUESTS_PER_MINUTE} requests a minute allows at least ${((summary.pages - 1) * 60 / REQUESTS_PER_MINUTE).toFixed(1)} s)`)
    console.log(`  peak RSS ${(peakRss / MB).toFixed(0)} MB, ${((peakRss - rssBefore) / MB).toFixed(0)} MB above the start (target: under 100 MB)`)
    console.log(`  contacts feed: ${feed.records} records for ${feed.people} people (${feed.records === applications && feed.people === applications ? 'every person once' : 'NOT every person once'}); ` +
      `requests ${summary.calls === summary.pages ? '=' : '≠'} pages`)
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
    rmSync(dir, { recursive: true, force: true })
  }
}
