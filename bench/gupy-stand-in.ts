/**
 * A stand-in for Gupy's jobs and applications API, for the import benchmark (run as its own process):
 * BENCH_JOBS jobs of BENCH_APPLICATIONS / BENCH_JOBS applications, a new person each, in pages of at
 * most 100, answering 429 with `WAF: Rate-Limit` beyond 500 requests in any minute as Gupy's firewall does.
 * Prints `listening <port>`.
 */
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { withCpfCheckDigits } from '../src/vocabulary/formats.js'

const JOBS = Number(process.env.BENCH_JOBS ?? 100)
const APPLICATIONS = Number(process.env.BENCH_APPLICATIONS ?? 20_000)
const LIMIT_PER_MINUTE = 500
const perJob = Math.ceil(APPLICATIONS / JOBS)

const base = JSON.parse(readFileSync(new URL('../test/fixtures/gupy/rest.job-applications.reconstructed.json', import.meta.url), 'utf8')).results[0]

/** A valid CPF from a number: nine digits and their two check digits. */
function cpf (n: number): string {
  return withCpfCheckDigits(String(n).padStart(9, '0'))
}

function application (n: number, job: number) {
  return {
    ...base,
    id: 60_000_000 + n,
    job: { id: job, name: `Vaga ${job}` },
    updatedAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    candidate: { ...base.candidate, name: `Pessoa${n}`, lastName: 'Bench', email: `pessoa${n}@example.com`, identificationDocument: cpf(300_000 + n), mobileNumber: `+55119${String(n).padStart(8, '0')}` }
  }
}

const answered: number[] = []
const stats = { requests: 0, pages: 0, throttled: 0 }

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value))
  }
  if (url.pathname === '/bench/stats') return send(200, stats)
  stats.requests++
  const now = Date.now()
  while (answered.length > 0 && answered[0]! <= now - 60_000) answered.shift()
  if (answered.length >= LIMIT_PER_MINUTE) {
    stats.throttled++
    return send(429, { message: 'Too Many Requests' }, { waf: 'Rate-Limit', 'retry-after': String(Math.ceil((answered[0]! + 60_000 - now) / 1000)) })
  }
  answered.push(now)
  const page = Number(url.searchParams.get('page') ?? 1)
  const perPage = Math.min(100, Number(url.searchParams.get('perPage') ?? 10))
  const paged = (total: number, item: (i: number) => unknown) => {
    const from = (page - 1) * perPage
    const results = Array.from({ length: Math.max(0, Math.min(perPage, total - from)) }, (_, i) => item(from + i))
    stats.pages++
    return { results, totalResults: total, page, totalPages: Math.max(1, Math.ceil(total / perPage)) }
  }
  if (url.pathname === '/api/v1/jobs') return send(200, paged(JOBS, (i) => ({ id: 7000 + i, name: `Vaga ${7000 + i}`, status: 'published' })))
  const m = /^\/api\/v1\/jobs\/(\d+)\/applications$/.exec(url.pathname)
  if (m !== null) {
    const j = Number(m[1]) - 7000
    return send(200, paged(perJob, (i) => application(j * perJob + i + 1, 7000 + j)))
  }
  send(404, { message: 'Not Found' })
})
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`)
})
