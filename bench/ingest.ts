/**
 * Ingest benchmark: unique realistic deliveries over loopback with keep-alive, against the real
 * bridge (durable commit) and, in the same run, a bare Fastify route that only parses the body.
 * With BENCH_INGEST_COMPARE=<another checkout of the project, installed>, that checkout's bridge is
 * measured too, in the same alternating rounds: the change's gain, measured beside its baseline.
 */
import type { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { Database } from '../src/store/sqlite.js'
import { announcedPort, spawnScript } from '../test/processes.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const DURATION = Number(process.env.BENCH_DURATION ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6)
const COMPARE = process.env.BENCH_INGEST_COMPARE
const SECRET = 'bench-secret-0123456789'
export const FEED_TOKEN = 'bench-token-0123456789'

// Every delivery is a new person applying: its own id (a random UUID, as Gupy sends: random keys cost
// more to index than sequential ones), date, application id and e-mail (the contact key).
const template = readFileSync(new URL('../test/fixtures/gupy/application.created.reconstructed.json', import.meta.url), 'utf8')
  .replace('"0b6f8f2e-3c1d-4a8e-9f57-2d1c6b7a9e01"', '"@ID@"')
  .replace('"2025-07-01T12:00:00.000Z"', '"@DATE@"')
  .replace('"id": 574488860', '"id": @N@')
  .replace('john.doe@example.com', 'candidate@N@@example.com')
const parts = template.split(/(@ID@|@DATE@|@N@)/)

let counter = 0
function nextBody (): string {
  counter++
  const id = randomUUID()
  const date = new Date(Date.UTC(2025, 6, 1) + counter * 1000).toISOString()
  const n = String(counter)
  return parts.map((p) => p === '@ID@' ? id : p === '@DATE@' ? date : p === '@N@' ? n : p).join('')
}

export async function startTarget (mode: string, dir?: string, env: Record<string, string> = {}, checkout?: string): Promise<{ child: ChildProcess, port: number }> {
  const script = checkout === undefined ? new URL('./ingest-target.ts', import.meta.url) : join(checkout, 'bench', 'ingest-target.ts')
  const run = spawnScript(undefined, script, dir === undefined ? [mode] : [mode, dir], { env, output: 'stderr' })
  return { child: run.child, port: await announcedPort(run) }
}

export async function stopTarget (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  await once(child, 'exit')
}

interface Result { mode: string, rps: number, p50: number, p99: number, ok: number, errors: number, cpuPerRequest: number }

async function cpuMicros (port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/bench/cpu`)
  return ((await res.json()) as { micros: number }).micros
}

export async function load (mode: string, port: number, seconds: number): Promise<Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{
      method: 'POST',
      path: '/webhooks/gupy',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      // a Buffer: autocannon would count a string's characters, not its UTF-8 bytes, in Content-Length
      setupRequest: (req) => ({ ...req, body: Buffer.from(nextBody()) as unknown as string })
    }]
  })
  return {
    mode,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    errors: result.errors + result.non2xx + result.timeouts,
    cpuPerRequest: 0
  }
}

interface Target { mode: string, child: ChildProcess, port: number }

/** Only the target being measured runs: the others are stopped, so their background work cannot take the machine. */
function runOnly (target: Target, all: Target[]): void {
  for (const t of all) t.child.kill(t === target ? 'SIGCONT' : 'SIGSTOP')
}

async function measure (target: Target, seconds: number): Promise<Result> {
  const cpuBefore = await cpuMicros(target.port)
  const result = await load(target.mode, target.port, seconds)
  // The target's own CPU time per request: less sensitive than req/s to how fast this machine is right now.
  return { ...result, cpuPerRequest: (await cpuMicros(target.port) - cpuBefore) / Math.max(1, result.ok) }
}

function median (xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

type Mode = 'bare' | 'bridge' | 'previous'

export async function runIngestBenchmark (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-'))
  const previousDir = mkdtempSync(join(tmpdir(), 'bridge-bench-previous-'))
  const targets: Target[] = [
    { mode: 'bare', ...await startTarget('bare') },
    { mode: 'bridge', ...await startTarget('bridge', dir) }
  ]
  if (COMPARE !== undefined) targets.push({ mode: 'previous', ...await startTarget('bridge', previousDir, {}, COMPARE) })
  const bridge = targets[1]!
  try {
    console.log(`ingest: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s per target, unique ~2.4 KB deliveries, keep-alive, loopback` +
      (COMPARE === undefined ? '' : `; "previous" is the bridge of ${COMPARE}`))
    // This machine's speed drifts within a minute: short rounds, alternating the order of the targets
    // (bare, bridge, bridge, bare…), compare neighbours in time. The targets not measured are stopped.
    for (const target of targets) {
      runOnly(target, targets)
      await load(target.mode, target.port, 2) // warm-up: JIT, page cache, WAL file growth
    }
    const rounds: Array<Partial<Record<Mode, Result>>> = []
    for (let i = 0; i < ROUNDS; i++) {
      const round: Partial<Record<Mode, Result>> = {}
      for (const target of i % 2 === 0 ? targets : [...targets].reverse()) {
        runOnly(target, targets)
        round[target.mode as Mode] = await measure(target, DURATION)
      }
      rounds.push(round)
    }
    for (const target of targets) target.child.kill('SIGCONT')
    await stopTarget(bridge.child)
    const db = new Database(join(dir, 'bridge.sqlite'), { readonly: true })
    const stored = db.prepare('SELECT count(*) FROM deliveries').pluck().get() as number
    const journal = db.pragma('journal_mode', { simple: true })
    db.close()
    for (const [i, r] of rounds.entries()) {
      for (const x of Object.values(r)) {
        console.log(`  round ${i + 1} ${x.mode.padEnd(8)} ${x.rps.toFixed(0).padStart(7)} req/s   p50 ${x.p50} ms   p99 ${x.p99} ms   CPU ${x.cpuPerRequest.toFixed(0)} µs/req   2xx ${x.ok}   errors ${x.errors}`)
      }
      console.log(`  round ${i + 1} ratio bridge/bare ${(r.bridge!.rps / r.bare!.rps).toFixed(2)}` +
        (r.previous === undefined ? '' : `   previous/bare ${(r.previous.rps / r.bare!.rps).toFixed(2)}   bridge/previous ${(r.bridge!.rps / r.previous.rps).toFixed(2)}`))
    }
    const acknowledged = rounds.reduce((n, r) => n + r.bridge!.ok, 0)
    console.log(`  bridge stored ${stored} deliveries (journal ${String(journal)}, synchronous=FULL), acknowledged ${acknowledged} in the measured runs; every 2xx is a committed row: ${stored >= acknowledged ? 'yes' : 'NO'}`)
    const of = (mode: Mode) => rounds.map((r) => r[mode]!)
    const ratio = median(rounds.map((r) => r.bridge!.rps / r.bare!.rps))
    const p99 = median(of('bridge').map((x) => x.p99))
    console.log(`  median ratio bridge/bare: ${ratio.toFixed(2)} (mapping keeps pace inside the measured rounds)   median bridge p99 ${p99} ms (target < 30 ms)`)
    const cpuRatio = median(rounds.map((r) => r.bare!.cpuPerRequest / r.bridge!.cpuPerRequest))
    console.log(`  median CPU per request bare/bridge: ${cpuRatio.toFixed(2)} (the ratio the bridge reaches when one core is its limit)`)
    if (COMPARE !== undefined) {
      console.log(`  median ratio previous/bare: ${median(rounds.map((r) => r.previous!.rps / r.bare!.rps)).toFixed(2)}   median previous p99 ${median(of('previous').map((x) => x.p99))} ms`)
      console.log(`  median webhooks per second bridge/previous: ${median(rounds.map((r) => r.bridge!.rps / r.previous!.rps)).toFixed(2)}   ` +
        `median CPU per request previous/bridge: ${median(rounds.map((r) => r.previous!.cpuPerRequest / r.bridge!.cpuPerRequest)).toFixed(2)}`)
    }
  } finally {
    for (const target of targets) target.child.kill('SIGCONT')
    await Promise.all(targets.map(async (t) => { if (t.child.exitCode === null && t.child.signalCode === null) await stopTarget(t.child) }))
    rmSync(dir, { recursive: true, force: true })
    rmSync(previousDir, { recursive: true, force: true })
  }
}
