/**
 * Burst-then-poll: unique deliveries (each a new person) at full speed for BENCH_BURST_SECONDS,
 * then at once the first full contacts poll, timed. Mapping follows ingest, so that poll should
 * not first have to map a backlog of tens of thousands.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { Database } from '../src/store/sqlite.js'
import { FEED_TOKEN, load, startTarget, stopTarget } from './ingest.js'

const SECONDS = Number(process.env.BENCH_BURST_SECONDS ?? 60)

export async function runBurstBenchmark (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-'))
  const bridge = await startTarget('bridge', dir, { FEED_SETTLE_SECONDS: '0' })
  try {
    console.log(`burst-then-poll: ${SECONDS} s of unique deliveries (a new person each) at full speed, then the first contacts poll`)
    const burst = await load('bridge', bridge.port, SECONDS)
    const db = new Database(join(dir, 'bridge.sqlite'), { readonly: true })
    const backlog = db.prepare("SELECT count(*) FROM deliveries WHERE state = 'received'").pluck().get() as number
    db.close()
    const started = process.hrtime.bigint()
    const res = await request(`http://127.0.0.1:${bridge.port}/rubeus/contatos`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
    const records = (await res.body.json() as unknown[]).length
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    console.log(`  burst: ${burst.ok} acknowledged (${burst.rps.toFixed(0)} req/s, p99 ${burst.p99} ms, errors ${burst.errors}); still unmapped when it ended: ${backlog}`)
    console.log(`  first contacts poll: ${records} records in ${ms.toFixed(0)} ms (target: a full batch under 1000 ms), X-Remaining ${String(res.headers['x-remaining'])}`)
  } finally {
    await stopTarget(bridge.child)
    rmSync(dir, { recursive: true, force: true })
  }
}
