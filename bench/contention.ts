/**
 * Contention: a service process on a database of BENCH_CONTENTION_DELIVERIES (100,000) deliveries
 * takes steady webhook traffic while the operator commands run one after another as real
 * processes: erase, backup, reprocess --all, purge. Per command: its exit code and duration, the
 * webhooks' status counts and p99 while it ran, and the longest /healthz answer.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { createMapper } from '../src/mapping/mapper.js'
import { DEFAULT_MAPPING } from '../src/mapping/mapping-file.js'
import { openDatabase } from '../src/store/database.js'
import { createRepositories } from '../src/store/repositories.js'
import { Database } from '../src/store/sqlite.js'
import { cli } from '../test/processes.js'
import { startTarget, stopTarget } from './ingest.js'

const DELIVERIES = Number(process.env.BENCH_CONTENTION_DELIVERIES ?? 100_000)
/** Webhooks per second while the commands run, from this many concurrent senders. */
const RATE = Number(process.env.BENCH_CONTENTION_RATE ?? 200)
const SENDERS = 8
/** Which commands to run (comma-separated names, default all): `BENCH_CONTENTION_COMMANDS=backup`. */
const ONLY = process.env.BENCH_CONTENTION_COMMANDS?.split(',').map((name) => name.trim())
const SECRET = 'bench-secret-0123456789'

const template = JSON.parse(readFileSync(new URL('../test/fixtures/gupy/application.created.reconstructed.json', import.meta.url), 'utf8'))
let counter = 0
function body (): { id: string, text: string } {
  counter++
  const b = structuredClone(template)
  b.id = randomUUID()
  b.date = new Date(Date.UTC(2025, 6, 1) + counter * 1000).toISOString()
  b.data.application.id = counter
  b.data.candidate.email = `candidate${counter}@example.com`
  return { id: b.id, text: JSON.stringify(b) }
}

/** The database, filled and mapped before the service starts. */
function fill (file: string): void {
  const db = openDatabase(file)
  const repositories = createRepositories(db)
  const insert = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) {
      const { id, text } = body()
      repositories.inbox.record({ eventId: id, event: 'application.created', eventDate: Date.UTC(2025, 6, 1) + counter * 1000, receivedAt: Date.now() - 86_400_000, body: text })
    }
  })
  for (let done = 0; done < DELIVERIES; done += 5000) insert(Math.min(5000, DELIVERIES - done))
  createMapper(repositories, { mapping: DEFAULT_MAPPING, timeZone: 'America/Sao_Paulo', extras: {} }).catchUp(1000)
  db.close()
}

const p99 = (xs: number[]) => xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!

export async function runContentionBenchmark (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-contention-'))
  const file = join(dir, 'bridge.sqlite')
  const started = performance.now()
  fill(file)
  console.log(`contention: ${DELIVERIES} deliveries stored and mapped in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
    `${RATE} webhooks/s from ${SENDERS} senders while each command runs`)
  const { child, port } = await startTarget('bridge', dir)
  const base = `http://127.0.0.1:${port}`
  const agent = new Agent({ connections: SENDERS })
  const probe = new Agent({ connections: 1 })
  const env = { DATABASE_PATH: file, GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: 'bench-token-0123456789' }
  let window = { statuses: {} as Record<string, number>, latencies: [] as number[], health: 0 }
  const acknowledged: string[] = []
  const state = { stop: false }
  const sender = async () => {
    while (!state.stop) {
      const next = performance.now() + 1000 * SENDERS / RATE
      const { id, text } = body()
      const t0 = performance.now()
      let status = 'error'
      try {
        const res = await request(`${base}/webhooks/gupy`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${SECRET}` }, body: text })
        await res.body.dump()
        status = String(res.statusCode)
        if (res.statusCode === 200) acknowledged.push(id)
      } catch {}
      window.latencies.push(performance.now() - t0)
      window.statuses[status] = (window.statuses[status] ?? 0) + 1
      await sleep(Math.max(0, next - performance.now()))
    }
  }
  const prober = async () => {
    while (!state.stop) {
      const t0 = performance.now()
      const res = await request(`${base}/healthz`, { dispatcher: probe }) // its own connection, as a health checker has
      await res.body.dump()
      window.health = Math.max(window.health, performance.now() - t0)
      await sleep(20)
    }
  }
  const load = Promise.all([...Array.from({ length: SENDERS }, sender), prober()])
  const loopStall = async () => ((await (await request(`${base}/bench/loop`)).body.json()) as { maxMs: number }).maxMs
  const every: Array<[string, string[]]> = [
    ['erase', ['erase', '--email', 'candidate42@example.com']],
    ['backup', ['backup', join(dir, 'backup.sqlite')]],
    ['reprocess --all', ['reprocess', '--all']],
    ['purge', ['purge', '--days', '1']]
  ]
  const commands = every.filter(([name]) => ONLY === undefined || ONLY.includes(name))
  try {
    await sleep(2000) // steady state
    let worstHealth = 0
    for (const [name, args] of commands) {
      window = { statuses: {}, latencies: [], health: 0 }
      await loopStall()
      const t0 = performance.now()
      const { code } = await cli(args, env)
      const seconds = (performance.now() - t0) / 1000
      const stall = await loopStall()
      worstHealth = Math.max(worstHealth, window.health)
      console.log(`  ${name.padEnd(16)} exit ${code}   ${seconds.toFixed(1)} s   webhooks ${JSON.stringify(window.statuses)}   p99 ${p99(window.latencies).toFixed(0)} ms   longest /healthz ${window.health.toFixed(0)} ms   service event-loop stall ${stall.toFixed(0)} ms`)
    }
    state.stop = true
    await load
    await stopTarget(child)
    const db = new Database(file, { readonly: true })
    const has = db.prepare('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
    const lost = acknowledged.filter((id) => has.get(id) === undefined).length
    db.close()
    console.log(`  acknowledged ${acknowledged.length}, lost ${lost} (target 0); longest /healthz ${worstHealth.toFixed(0)} ms (target < 100 ms); targets: every command exits 0, webhook p99 < 250 ms`)
  } finally {
    state.stop = true
    await agent.close()
    await probe.close()
    if (child.exitCode === null) await stopTarget(child)
    rmSync(dir, { recursive: true, force: true })
  }
}
