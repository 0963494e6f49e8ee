/**
 * Push benchmark (SPEC §4b, §6 "Push"): the service in push mode, as its own process, against the
 * tests' stand-in for Rubeus's CRM API running in this process, every answer 50 ms late, so that a
 * webhook's `200` and Rubeus's answer for its event are read on the same clock.
 * - drain: BENCH_PUSH_DELIVERIES (10,000) deliveries of about 4,000 people (each applies, then moves
 *   0–3 times) posted at full speed; the time until Rubeus has every contact and event, calls per
 *   record, the service's peak RSS, no contact created twice and no event sent twice; beside the
 *   floors of the stand-in (50 ms a call, CONTACTS_AT_ONCE at a time) and of the request budget, and
 *   a direct client's calls to the same stand-in at the same parallelism, measured in the same run.
 * - latency: BENCH_PUSH_RATE (20) webhooks a second for BENCH_PUSH_SECONDS (30): the time from each
 *   webhook's `200` to Rubeus's `success: true` for its event, p50/p99/max, beside the floor (50 ms a
 *   call on its critical path).
 * - outage: Rubeus answers 503 for a few seconds while deliveries keep coming, with a budget of 600
 *   requests a minute; the backlog's drain rate afterwards against that budget.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { DEFAULT_MAPPING } from '../src/mapping/mapping-file.js'
import { CONTACTS_AT_ONCE } from '../src/rubeus/pusher.js'
import { eventCode } from '../src/rubeus/push-records.js'
import { Database } from '../src/store/sqlite.js'
import { CONTACTS_FEED } from '../src/vocabulary/rubeus-feeds.js'
import { applicationEvent, person, type Person } from '../test/helper.js'
import { startService, type Service } from '../test/processes.js'
import { DOCUMENTED, RUBEUS_ORIGEM, RUBEUS_TOKEN, startRubeusStandIn, type EventType } from '../test/rubeus-stand-in.js'

const DELIVERIES = Number(process.env.BENCH_PUSH_DELIVERIES ?? 10_000)
const RATE = Number(process.env.BENCH_PUSH_RATE ?? 20)
const SECONDS = Number(process.env.BENCH_PUSH_SECONDS ?? 30)
/** Every answer of the stand-in waits this long: a CRM over the Internet. */
const LATENCY_MS = 50
/** Idle connections to the stand-in stay open this long, as behind a web server (Node's default). */
const KEEP_ALIVE_MS = 5000
/** The highest RUBEUS_API_REQUESTS_PER_MINUTE the configuration accepts (100 a second). */
const BUDGET = 6000
const OUTAGE_BUDGET = 600
const OUTAGE_SECONDS = 6
const SECRET = 'bench-secret-0123456789'
const SENDERS = 8
const KB_PER_MB = 1024

type Rubeus = Awaited<ReturnType<typeof startRubeusStandIn>>

/** A delivery to post: its body, and the event it makes in Rubeus. */
interface Delivery { id: string, codigo: string, event: string, text: string, kind: 'created' | 'moved' }

const STEPS = ['Cadastro', 'Triagem', 'Entrevista com RH', 'Teste técnico']
const feedOf = (event: string) => DEFAULT_MAPPING.feeds.find((f) => f.events.includes(event as never))!.name

/** A person's `step`-th delivery (0: applied; then moved one step further), dated `at`. */
function stepOf (p: Person, step: number, at: number): Delivery {
  const created = step === 0
  const body = applicationEvent(p, {
    id: randomUUID(),
    event: created ? 'application.created' : 'application.moved',
    date: new Date(at),
    step: STEPS[step]!,
    previous: created ? undefined : STEPS[step - 1],
    candidate: { gender: p.n % 2 === 0 ? 'Female' : 'Male' }
  })
  const id = body.id as string
  return { id, codigo: p.cpf, event: eventCode(id, feedOf(body.event as string)), text: JSON.stringify(body), kind: created ? 'created' : 'moved' }
}

/** A small deterministic generator, so that two runs post the same journeys. */
function seeded (seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
}

/** The stand-in, 50 ms late, whose tenant has the default mapping's event types (setup-rubeus made them). */
async function rubeusStandIn (): Promise<Rubeus> {
  const documented = DOCUMENTED['Evento/listarTipoEvento']!.response.dados as EventType[]
  const eventTypes = [...documented, ...DEFAULT_MAPPING.feeds.map((f, i) => ({ id: String(900 + i), titulo: f.titulo, codigo: f.codTipo, origem: RUBEUS_ORIGEM, origemNome: 'Gupy' }))]
  return await startRubeusStandIn({ latencyMs: LATENCY_MS, keepAliveMs: KEEP_ALIVE_MS, eventTypes })
}

/** The service in push mode, in a temporary folder of its own, pushing to the stand-in within `budget`. */
async function pushingService (rubeus: Rubeus, budget: number): Promise<Service & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-push-bench-'))
  try {
    const service = await startService(undefined, {
      DATABASE_PATH: join(dir, 'bridge.sqlite'),
      GUPY_WEBHOOK_SECRETS: SECRET,
      RUBEUS_DELIVERY: 'push',
      RUBEUS_API_URL: rubeus.url,
      RUBEUS_API_TOKEN: RUBEUS_TOKEN,
      RUBEUS_ORIGEM,
      RUBEUS_BASE_LEGAL: rubeus.bases[0]!.id,
      RUBEUS_API_REQUESTS_PER_MINUTE: String(budget)
    }, { cwd: dir })
    return { ...service, dir }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/** Stops the service (when it still runs); `remove` then deletes its folder. */
async function stopService (service: Service & { dir: string }, remove = true): Promise<void> {
  if (service.child.exitCode === null && service.child.signalCode === null) await service.stop('SIGTERM', 30_000)
  if (remove) rmSync(service.dir, { recursive: true, force: true })
}

/** Posts one delivery; resolves with the time its `200` arrived (undefined for another status). */
async function post (base: string, agent: Agent, d: Delivery): Promise<number | undefined> {
  const res = await request(`${base}/webhooks/gupy`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
    body: d.text
  })
  const at = performance.now()
  await res.body.dump()
  return res.statusCode === 200 ? at : undefined
}

/** Records waiting to be pushed, from the service's `/metrics` (every feed). */
async function pending (base: string): Promise<number> {
  const text = await (await request(`${base}/metrics`)).body.text()
  let sum = 0
  for (const m of text.matchAll(/^bridge_rubeus_push_pending\{[^}]*\} (\d+)$/gm)) sum += Number(m[1])
  return sum
}

/** The service's CPU time so far (user and system, seconds), from its `/metrics`. */
async function cpuSeconds (base: string): Promise<number> {
  const text = await (await request(`${base}/metrics`)).body.text()
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? NaN)
}

/** A process's peak resident memory, in kB, as Linux counts it (VmHWM). */
function peakRssKb (pid: number | undefined): number {
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN)
  } catch {
    return NaN
  }
}

/** True when Rubeus holds every delivery's event and every person's contact. */
function complete (rubeus: Rubeus, sent: Delivery[], people: number): boolean {
  return rubeus.contacts.size >= people && sent.every((d) => rubeus.events.has(d.event))
}

/**
 * Waits until Rubeus holds everything sent and the service has nothing left to push (at most
 * `ms`); returns the time of the last call Rubeus answered by then.
 */
async function drained (base: string, rubeus: Rubeus, sent: Delivery[], people: number, ms: number, progress?: (events: number) => void): Promise<number> {
  const deadline = performance.now() + ms
  let shown = performance.now()
  for (;;) {
    if (complete(rubeus, sent, people) && await pending(base) === 0) return rubeus.calls.at(-1)!.at
    if (performance.now() > deadline) {
      throw new Error(`not drained within ${ms / 1000} s: Rubeus holds ${rubeus.events.size} of ${sent.length} events and ${rubeus.contacts.size} of ${people} contacts; ` +
        `the service has ${await pending(base)} records pending`)
    }
    if (progress !== undefined && performance.now() - shown > 30_000) {
      shown = performance.now()
      progress(rubeus.events.size)
    }
    await sleep(50)
  }
}

/** Per method, how many calls Rubeus answered. */
function byMethod (rubeus: Rubeus): string {
  const counts: Record<string, number> = {}
  for (const c of rubeus.calls) counts[c.method] = (counts[c.method] ?? 0) + 1
  return Object.entries(counts).map(([method, n]) => `${method} ${n}`).join(', ')
}

/** Contacts Rubeus holds more than once for one codigo, and event codes sent more than once. */
function duplicates (rubeus: Rubeus): { contacts: number, events: number } {
  const contacts = new Map<unknown, number>()
  for (const c of rubeus.contacts.values()) contacts.set(c.codigo, (contacts.get(c.codigo) ?? 0) + 1)
  const events = new Map<unknown, number>()
  for (const c of rubeus.callsTo('Evento/cadastro')) events.set(c.body.codigo, (events.get(c.body.codigo) ?? 0) + 1)
  const twice = (m: Map<unknown, number>) => [...m.values()].filter((n) => n > 1).length
  return { contacts: twice(contacts), events: twice(events) }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!
const ms = (x: number) => `${x.toFixed(0)} ms`
const s = (x: number) => `${(x / 1000).toFixed(1)} s`

/**
 * A direct client: `calls` look-ups of known contacts (read-only) at `parallel` at a time, straight
 * to the stand-in; the wall time. What the stand-in itself allows, measured beside the pusher.
 */
async function directClient (rubeus: Rubeus, codigos: string[], calls: number, parallel: number): Promise<number> {
  const agent = new Agent({ connections: parallel })
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < calls) {
      const codigo = codigos[next++ % codigos.length]
      const res = await request(`${rubeus.url}/api/Contato/dadosPessoa`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ codigo, origem: Number(RUBEUS_ORIGEM), token: RUBEUS_TOKEN })
      })
      await res.body.dump()
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  const wall = performance.now() - started
  await agent.close()
  return wall
}

async function runDrain (): Promise<void> {
  const random = seeded(42)
  const start = Date.UTC(2026, 2, 2, 12)
  const journeys: Array<{ at: number, d: Delivery }> = []
  let people = 0
  while (journeys.length < DELIVERIES) {
    const p = person(++people)
    const steps = Math.min(1 + Math.floor(random() * 4), DELIVERIES - journeys.length)
    // Applied at its own minute; each move an hour later: one person's deliveries are posted among others'.
    for (let step = 0; step < steps; step++) {
      const at = start + (p.n * 60 + step * 3600) * 1000
      journeys.push({ at, d: stepOf(p, step, at) })
    }
  }
  const sent = journeys.sort((a, b) => a.at - b.at).map((j) => j.d)
  const rubeus = await rubeusStandIn()
  const service = await pushingService(rubeus, BUDGET)
  try {
    console.log(`push drain: ${sent.length} deliveries of ${people} people (each applies, then moves 0–3 times) posted by ${SENDERS} senders at full speed to the service ` +
      `(RUBEUS_DELIVERY=push, RUBEUS_API_REQUESTS_PER_MINUTE=${BUDGET}, the highest accepted); Rubeus's stand-in answers every call in ${LATENCY_MS} ms; ` +
      `the pusher pushes ${CONTACTS_AT_ONCE} contacts at a time`)
    const agent = new Agent({ connections: SENDERS })
    let next = 0
    let refused = 0
    const cpuBefore = await cpuSeconds(service.url)
    const t0 = performance.now()
    await Promise.all(Array.from({ length: SENDERS }, async () => {
      while (next < sent.length) if (await post(service.url, agent, sent[next++]!) === undefined) refused++
    }))
    const posted = performance.now() - t0
    await agent.close()
    const waiting = await pending(service.url)
    const end = await drained(service.url, rubeus, sent, people, 20 * 60_000,
      (events) => console.log(`  … ${s(performance.now() - t0)}: Rubeus holds ${events} of ${sent.length} events`))
    const wall = end - t0
    const cpu = await cpuSeconds(service.url) - cpuBefore
    const pid = service.child.pid
    const peak = peakRssKb(pid)
    const calls = rubeus.calls.length
    const twice = duplicates(rubeus)
    await stopService(service, false)
    const db = new Database(join(service.dir, 'bridge.sqlite'), { readonly: true })
    const records = db.prepare<[string], { n: number, contacts: number }>('SELECT count(*) AS n, count(feed = ? OR NULL) AS contacts FROM feed_items').get(CONTACTS_FEED)!
    const batches = db.prepare("SELECT count(*) AS n, count(count = 1 OR NULL) AS single FROM feed_batches WHERE outcome = 'served'").get() as { n: number, single: number }
    db.close()

    const minimal = people * 2 + sent.length // per new contact a look-up and a creation; per delivery its event
    const methods = byMethod(rubeus)
    const whilePosting = rubeus.calls.filter((c) => c.at <= t0 + posted).length
    // The stand-in's own pace, measured: a direct client, as parallel as the pusher, with no budget.
    const sample = Math.min(calls, 2000)
    const direct = await directClient(rubeus, [...new Set(sent.map((d) => d.codigo))], sample, CONTACTS_AT_ONCE)
    const floors = {
      'the stand-in': calls * LATENCY_MS / CONTACTS_AT_ONCE,
      'the direct client': direct * calls / sample,
      'the budget': calls * 60_000 / BUDGET
    }
    const [binding, floor] = Object.entries(floors).sort((a, b) => b[1] - a[1])[0]!
    console.log(`  posted in ${s(posted)} (${(sent.length / posted * 1000).toFixed(0)} webhooks/s, ${refused} not answered 200); records still to push when the last was posted: ${waiting}`)
    console.log(`  every record acknowledged after ${s(wall)} (from the first post to Rubeus's last answer; Rubeus then held every event and contact, and the service had 0 pending)`)
    console.log(`  records pushed: ${records.n} (${records.contacts} contact records, ${records.n - records.contacts} events), handed to the pusher in ${batches.n} batches ` +
      `(${(records.n / batches.n).toFixed(1)} records each on average, ${batches.single} of one record)`)
    console.log(`  calls to Rubeus: ${calls} (${methods}); calls per record ${(calls / records.n).toFixed(2)} (the fewest possible: ${minimal} calls, ${(minimal / records.n).toFixed(2)} per record)`)
    console.log(`  ${(calls / wall * 1000).toFixed(1)} calls/s (${(whilePosting / posted * 1000).toFixed(1)}/s while the webhooks came, ` +
      `${((calls - whilePosting) / (end - t0 - posted) * 1000).toFixed(1)}/s after); the budget allows ${BUDGET / 60}/s`)
    console.log(`  floors for ${calls} calls: the stand-in ${s(floors['the stand-in'])} (calls × ${LATENCY_MS} ms / ${CONTACTS_AT_ONCE} at a time); ` +
      `a direct client, measured: ${sample} calls ${CONTACTS_AT_ONCE} at a time in ${s(direct)} (${(sample / direct * 1000).toFixed(0)} calls/s), so ${s(floors['the direct client'])}; ` +
      `the budget ${s(floors['the budget'])}`)
    console.log(`  ratio wall/binding floor (${binding}) ${(wall / floor).toFixed(2)}; wall/direct client ${(wall / floors['the direct client']).toFixed(2)}`)
    console.log(`  contacts in Rubeus: ${rubeus.contacts.size} for ${people} people; created twice: ${twice.contacts} (target 0); events: ${rubeus.events.size} for ${sent.length} deliveries; ` +
      `event codes sent twice: ${twice.events} (target 0)`)
    console.log(`  service CPU time ${cpu.toFixed(1)} s (${(cpu * 1e6 / sent.length).toFixed(0)} µs per delivery, ingest and push); peak RSS (VmHWM) ${(peak / KB_PER_MB).toFixed(0)} MB`)
  } finally {
    await stopService(service)
    rubeus.close()
  }
}

/**
 * Webhooks posted on a fixed schedule (`rate` a second for `seconds`), each without waiting for the
 * others; 70 % a new person applying, 30 % a move of someone who applied at least a second earlier.
 */
async function steady (base: string, rate: number, seconds: number, first: number): Promise<Array<Delivery & { ackAt: number }>> {
  const agent = new Agent({ connections: 32 })
  const random = seeded(first)
  const applied: Array<{ p: Person, steps: number, at: number }> = []
  const acked: Array<Delivery & { ackAt: number }> = []
  const posts: Array<Promise<void>> = []
  const started = performance.now()
  let n = first
  for (let i = 0; i < rate * seconds; i++) {
    const due = started + i * 1000 / rate
    if (due > performance.now()) await sleep(due - performance.now())
    const movable = applied.filter((a) => a.steps < STEPS.length && a.at < performance.now() - 1000)
    let d: Delivery
    if (random() < 0.3 && movable.length > 0) {
      const a = movable[Math.floor(random() * movable.length)]!
      d = stepOf(a.p, a.steps, Date.now())
      a.steps++
    } else {
      const p = person(++n)
      d = stepOf(p, 0, Date.now())
      applied.push({ p, steps: 1, at: performance.now() })
    }
    posts.push(post(base, agent, d).then((ackAt) => {
      if (ackAt === undefined) throw new Error('a webhook was not answered 200')
      acked.push({ ...d, ackAt })
    }))
  }
  await Promise.all(posts)
  await agent.close()
  return acked
}

async function runLatency (): Promise<void> {
  const rubeus = await rubeusStandIn()
  const service = await pushingService(rubeus, BUDGET)
  try {
    console.log(`push latency: ${RATE} webhooks/s for ${SECONDS} s (70 % a new person applying, 30 % a move), RUBEUS_API_REQUESTS_PER_MINUTE=${BUDGET}, the stand-in ${LATENCY_MS} ms a call`)
    const acked = await steady(service.url, RATE, SECONDS, 100_000)
    const people = new Set(acked.map((d) => d.codigo)).size
    await drained(service.url, rubeus, acked, people, 120_000)
    const answered = new Map<unknown, number>()
    for (const c of rubeus.callsTo('Evento/cadastro')) answered.set(c.body.codigo, c.at) // the last call for a code is the one that succeeded
    const latencies = (kind?: Delivery['kind']) => acked.filter((d) => kind === undefined || d.kind === kind)
      .map((d) => answered.get(d.event)! - d.ackAt).sort((a, b) => a - b)
    const all = latencies()
    const line = (xs: number[]) => `p50 ${ms(quantile(xs, 0.5))}   p99 ${ms(quantile(xs, 0.99))}   max ${ms(xs.at(-1)!)}`
    // Where a new person's time goes: each call reaches the stand-in LATENCY_MS before it answers.
    const first = new Map<unknown, number>()
    const creation = new Map<unknown, number>()
    for (const c of rubeus.calls) {
      if (c.method === 'Contato/dadosPessoa' && !first.has(c.body.codigo)) first.set(c.body.codigo, c.at)
      if (c.method === 'Contato/cadastro' && c.body.id === undefined) creation.set(c.body.codigo, c.at)
    }
    const created = acked.filter((d) => d.kind === 'created')
    const part = (f: (d: Delivery & { ackAt: number }) => number) => {
      const xs = created.map(f).sort((a, b) => a - b)
      return `p50 ${ms(quantile(xs, 0.5))} p99 ${ms(quantile(xs, 0.99))}`
    }
    const twice = duplicates(rubeus)
    console.log(`  from each webhook's 200 to Rubeus's success: true for its event (Evento/cadastro, codigo gupy:<delivery id>:<feed>), ${all.length} webhooks: ${line(all)}`)
    console.log(`    a new person (look-up, creation, event: floor ${3 * LATENCY_MS} ms): ${line(latencies('created'))}`)
    console.log(`    a move (its event: floor ${LATENCY_MS} ms): ${line(latencies('moved'))}`)
    console.log(`    a new person, service side: 200 → look-up sent ${part((d) => first.get(d.codigo)! - LATENCY_MS - d.ackAt)}; ` +
      `answer → creation sent ${part((d) => creation.get(d.codigo)! - LATENCY_MS - first.get(d.codigo)!)}; ` +
      `answer → event sent ${part((d) => answered.get(d.event)! - LATENCY_MS - creation.get(d.codigo)!)}`)
    console.log(`  target: p99 under 1000 ms with the budget not binding (${(rubeus.calls.length / SECONDS).toFixed(0)} calls/s of ${BUDGET / 60}/s allowed): ${quantile(all, 0.99) < 1000 ? 'met' : 'NOT met'}; ` +
      `ratio p50/floor for a new person ${(quantile(latencies('created'), 0.5) / (3 * LATENCY_MS)).toFixed(2)}; contacts created twice ${twice.contacts}, event codes sent twice ${twice.events}`)
  } finally {
    await stopService(service)
    rubeus.close()
  }
}

async function runOutage (): Promise<void> {
  const rubeus = await rubeusStandIn()
  const service = await pushingService(rubeus, OUTAGE_BUDGET)
  const perSecond = OUTAGE_BUDGET / 60
  try {
    console.log(`push outage: RUBEUS_API_REQUESTS_PER_MINUTE=${OUTAGE_BUDGET} (${perSecond}/s); Rubeus answers 503 for ${OUTAGE_SECONDS} s while ${perSecond} webhooks/s keep coming; then the backlog drains`)
    const before = await steady(service.url, 2, 3, 200_000)
    await drained(service.url, rubeus, before, new Set(before.map((d) => d.codigo)).size, 60_000)
    rubeus.failAll(503)
    const down = performance.now()
    const during = await steady(service.url, perSecond, OUTAGE_SECONDS, 300_000)
    const backlog = await pending(service.url)
    rubeus.recover()
    const up = performance.now()
    const sent = [...before, ...during]
    const end = await drained(service.url, rubeus, sent, new Set(sent.map((d) => d.codigo)).size, 5 * 60_000)
    const failed = rubeus.calls.filter((c) => c.at >= down && c.at < up).length
    const after = rubeus.calls.filter((c) => c.at >= up)
    const first = after[0]!.at
    const rate = (after.length - 1) / (end - first) * 1000
    console.log(`  during the outage: ${failed} calls answered 503 (${(failed / (up - down) * 1000).toFixed(1)}/s, backing off); ${during.length} webhooks accepted; ${backlog} records pending when Rubeus came back`)
    console.log(`  after it: first call ${ms(first - up)} after Rubeus came back (the contacts under way waited out their backoff); ${after.length} calls in ${s(end - first)} from the first to the last`)
    console.log(`  drain rate ${rate.toFixed(2)} calls/s, budget ${perSecond}/s: ratio ${(rate / perSecond).toFixed(2)} (target 1.00); ` +
      `from Rubeus's return to the last record ${s(end - up)} (${after.length} calls at the budget: ${s(after.length / perSecond * 1000)})`)
  } finally {
    await stopService(service)
    rubeus.close()
  }
}

/** Which parts to run (comma-separated, default all): `BENCH_PUSH_PARTS=latency`. */
const ONLY = process.env.BENCH_PUSH_PARTS?.split(',').map((name) => name.trim())

export async function runPushBenchmark (): Promise<void> {
  console.log(`push: ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} over the last minute`)
  const parts: Array<[string, () => Promise<void>]> = [['drain', runDrain], ['latency', runLatency], ['outage', runOutage]]
  for (const [name, part] of parts) if (ONLY === undefined || ONLY.includes(name)) await part()
}
