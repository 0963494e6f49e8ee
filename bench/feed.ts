/**
 * Feed benchmark: a database holding 1,000,000 deliveries and as many released contacts; the time
 * to serve full 1000-record batches over HTTP (median, max) next to the time to JSON.stringify the
 * same records, the serving process's RSS before and after, and the time to load the console.
 */
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { mergeContact, renderContact, type ContactState } from '../src/mapping/contact.js'
import { loadMapping } from '../src/mapping/mapping-file.js'
import { statusReport } from '../src/ops/status-report.js'
import { CONTACTS_FEED } from '../src/vocabulary/rubeus-feeds.js'
import { openDatabase } from '../src/store/database.js'
import { createRepositories } from '../src/store/repositories.js'
import { announcedPort, spawnScript } from '../test/processes.js'

const RECORDS = Number(process.env.BENCH_FEED_RECORDS ?? 1_000_000)
const BATCHES = Number(process.env.BENCH_FEED_BATCHES ?? 200)
const TOKEN = 'bench-token-0123456789'
const CONSOLE = `Basic ${Buffer.from('operator:bench-console-0123456789').toString('base64')}`
const CONSOLE_LOADS = 50

/**
 * Writes RECORDS deliveries (mapped, received over the last 30 days; their bodies left out, which
 * nothing measured here reads) and as many contacts, rendered as the mapper renders them, all
 * released to the contacts feed.
 */
function fill (file: string): void {
  const db = openDatabase(file)
  const contact = db.prepare<[string, string, number]>("INSERT INTO contacts (codigo, fields, record, updated_at) VALUES (?, '{}', ?, ?)")
  const item = db.prepare<[number, string, number, number, string, number]>(
    "INSERT INTO feed_items (feed, ord, codigo, delivery_seq, event_date, event_id, released_at) VALUES ('contatos', ?, ?, ?, ?, ?, ?)")
  const delivery = db.prepare<[string, number, number]>(
    "INSERT INTO deliveries (event_id, event, event_date, received_at, state) VALUES (?, 'application.created', ?, ?, 'mapped')")
  const start = Date.now() - 30 * 86_400_000
  const insert = db.transaction((from: number, to: number) => {
    const now = Date.now()
    for (let n = from; n < to; n++) {
      const receivedAt = start + Math.floor((n / RECORDS) * 30 * 86_400_000)
      delivery.run(`d${n}`, receivedAt, receivedAt)
      const codigo = `pessoa${n}@example.com`
      const state: ContactState = {}
      mergeContact(state, {
        nome: `Pessoa ${n} da Silva Teste`,
        dataNascimento: '1994-11-16',
        telefonePrincipal: `55(11)9${String(n).padStart(8, '0')}`,
        emailPrincipal: codigo,
        endereco: 'Rua Haddock Lobo',
        cep: '01310-100',
        numero: '595',
        cidade: 'São Paulo',
        uf: 'SP',
        genero: n % 2 === 0 ? 'F' : 'M',
        'camposPersonalizados.vaga': 'VAGA TESTE INTEGRAÇÃO - Auxiliar de Produção'
      }, { date: now, id: `d${n}` })
      const rendered = renderContact(codigo, state, { baseLegal: '4', origem: '2' })
      contact.run(codigo, 'record' in rendered ? rendered.record : '', now)
      item.run(n + 1, codigo, n + 1, now + n, `d${n}`, now)
    }
  })
  for (let from = 0; from < RECORDS; from += 50_000) insert(from, Math.min(RECORDS, from + 50_000))
  db.close()
}

async function startTarget (dir: string): Promise<{ child: ChildProcess, port: number }> {
  const run = spawnScript(undefined, new URL('./ingest-target.ts', import.meta.url), ['bridge', dir], { output: 'stderr' })
  return { child: run.child, port: await announcedPort(run) }
}

/** The target's resident memory, from its own /metrics. */
async function rss (port: number): Promise<number> {
  const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text()
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const max = (xs: number[]) => Math.max(...xs)
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`

/** The console over HTTP (page and JSON), and the report builder that `status --json` runs, on the same database. */
async function timeConsole (port: number, file: string): Promise<void> {
  const load = async (path: string) => {
    const started = performance.now()
    const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { authorization: CONSOLE } })
    await res.body.text()
    if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`)
    return performance.now() - started
  }
  for (const path of ['/console', '/console/status.json']) {
    await load(path) // warm-up
    const times: number[] = []
    for (let i = 0; i < CONSOLE_LOADS; i++) times.push(await load(path))
    console.log(`  GET ${path.padEnd(20)} (HTTP)    median ${median(times).toFixed(1)} ms   max ${max(times).toFixed(1)} ms   over ${CONSOLE_LOADS} loads (target < 50 ms)`)
  }
  const db = openDatabase(file, { readonly: true })
  try {
    const repositories = createRepositories(db)
    const feeds = [CONTACTS_FEED, ...loadMapping(undefined).feeds.map((f) => f.name)]
    const times: number[] = []
    for (let i = 0; i <= CONSOLE_LOADS; i++) {
      const started = performance.now()
      statusReport(repositories, { feeds, settleMs: 60_000, retentionDays: 30, now: Date.now() })
      if (i > 0) times.push(performance.now() - started) // the first prepares its statements
    }
    console.log(`  status report, as \`status --json\` builds it   median ${median(times).toFixed(1)} ms   max ${max(times).toFixed(1)} ms   (${db.prepare('SELECT n FROM delivery_counts WHERE state = \'mapped\'').pluck().get()} deliveries stored)`)
  } finally {
    db.close()
  }
}

export async function runFeedBenchmark (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-feed-bench-'))
  try {
    const t0 = performance.now()
    fill(join(dir, 'bridge.sqlite'))
    console.log(`feed: ${RECORDS} deliveries and as many released contacts stored in ${((performance.now() - t0) / 1000).toFixed(1)} s; serving ${BATCHES} batches of 1000 over loopback`)
    const { child, port } = await startTarget(dir)
    try {
      const poll = async () => {
        const started = performance.now()
        const res = await request(`http://127.0.0.1:${port}/rubeus/contatos`, { headers: { authorization: `Bearer ${TOKEN}` } })
        const body = await res.body.text()
        if (res.statusCode !== 200) throw new Error(`poll answered ${res.statusCode}`)
        return { ms: performance.now() - started, body }
      }
      for (let i = 0; i < 5; i++) await poll() // warm-up
      const before = await rss(port)
      const serve: number[] = []
      const stringify: number[] = []
      let records = 0
      for (let i = 0; i < BATCHES; i++) {
        const { ms, body } = await poll()
        serve.push(ms)
        const parsed = JSON.parse(body) as unknown[]
        records += parsed.length
        const started = performance.now()
        JSON.stringify(parsed)
        stringify.push(performance.now() - started)
      }
      const after = await rss(port)
      console.log(`  serve a batch (HTTP, whole body read)   median ${median(serve).toFixed(1)} ms   max ${max(serve).toFixed(1)} ms   (target: median < 100 ms)`)
      console.log(`  JSON.stringify the same 1000 records    median ${median(stringify).toFixed(1)} ms   max ${max(stringify).toFixed(1)} ms`)
      console.log(`  ratio serve/stringify (median): ${(median(serve) / median(stringify)).toFixed(1)}   records served: ${records}`)
      console.log(`  RSS before ${mb(before)}   after ${mb(after)}   growth ${mb(after - before)} (target < 50 MB)`)
      await timeConsole(port, join(dir, 'bridge.sqlite'))
    } finally {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
