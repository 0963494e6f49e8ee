/**
 * A stand-in for Gupy's API over a real socket, for the tests and the import benchmark: jobs, their
 * applications in pages, subscriptions, chosen failures, a Gupy that misbehaves (pages without end,
 * answers that trickle, HTML, …), and Gupy's firewall: `429` with `WAF: Rate-Limit` for a while, or
 * beyond a number of requests in any minute. It records when each request arrived; `GET
 * /stand-in/stats` answers its counts (a benchmark runs it as its own process).
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { TestContext } from 'node:test'
import { fixture, validCpf } from './helper.js'

export const GUPY_TOKEN = 'gupy-api-token-0123456789'

/**
 * How a listing misbehaves:
 * - `repeat`: every page is page 1, and Gupy says there are a million pages (and no totalResults);
 * - `endless`: fresh full pages without end, each saying one more page follows (and the real totalResults);
 * - `no-totals`: the right pages, without totalPages or totalResults;
 * - `trickle`: the right answer, one byte every 100 ms;
 * - `html`: an HTML error page with status 200;
 * - `truncated`: the first half of the right answer;
 * - `huge`: a 20 MB JSON answer, streamed without a length;
 * - `null-items`: the right page with a `null` among its items.
 */
export type Misbehaviour = 'repeat' | 'endless' | 'no-totals' | 'trickle' | 'html' | 'truncated' | 'huge' | 'null-items'

export interface StandInJob {
  id: number
  name: string
  /** `bare`: answers a JSON array (all at once); `paged` (default): `{results, totalResults, page, totalPages}`. */
  shape?: 'bare' | 'paged'
  /** Answers 404 (the job is gone). */
  gone?: boolean
  /** How its applications listing misbehaves. */
  misbehave?: Misbehaviour | undefined
  applications: Array<Record<string, unknown>>
}

export interface Sub { id: string, action: string, status: string, postbackUrl: string, clientHeaders: Record<string, string>, techOwnerName?: string, techOwnerEmail?: string }

export interface StandInOptions {
  jobs?: StandInJob[]
  /** Answers to give instead of the real one, in order, one per request (then normal service). */
  failures?: Array<{ status: number, headers?: Record<string, string>, body?: string }>
  /** How the job list misbehaves. */
  misbehave?: Misbehaviour | undefined
  /**
   * Gupy's firewall: from the `from`-th request on, every request for `forMs` is answered `429` with
   * `WAF: Rate-Limit` (and `Retry-After` when given).
   */
  rateLimit?: { from: number, forMs: number, retryAfter?: string }
  /** Gupy's firewall as it stands: beyond this many requests in any 60 s, `429` with `WAF: Rate-Limit` and `Retry-After`. */
  perMinute?: number
  /** Requests after this many are never answered (a Gupy that hangs, for crash tests). */
  stallAfter?: number
  token?: string
}

let restBase: Record<string, any> | undefined

/** An application as the REST API lists it (`fields=all`), for person n of a job. */
export function restApplication (n: number, job: { id: number, name: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = restBase ??= JSON.parse(fixture('gupy/rest.job-applications.reconstructed.json')).results[0] as Record<string, any>
  return {
    ...base,
    id: 50_000_000 + n,
    job: { id: job.id, name: job.name },
    status: 'in_process',
    endedAt: null,
    updatedAt: new Date(Date.UTC(2026, 9, 1) + n * 1000).toISOString(),
    candidate: { ...base.candidate, name: `Pessoa${n}`, lastName: 'Teste', email: `pessoa${n}@example.com`, identificationDocument: validCpf(100_000 + n), mobileNumber: `+55119${String(n).padStart(8, '0')}` },
    ...extra
  }
}

/** The stand-in for a test: closed after it. */
export async function gupyStandIn (t: TestContext, opts: StandInOptions = {}) {
  const standIn = await startGupyStandIn(opts)
  t.after(standIn.close)
  return standIn
}

export async function startGupyStandIn (opts: StandInOptions = {}) {
  const jobs = opts.jobs ?? []
  const subs: Sub[] = []
  const calls: string[] = []
  /** Every request as it arrived: when (epoch ms), what, and the status it was answered. */
  const log: Array<{ at: number, call: string, status: number }> = []
  let limitedSince: number | undefined
  /** Bytes of the `huge` answers written before the client stopped reading. */
  const written: number[] = []
  const failures = [...(opts.failures ?? [])]
  /** When the requests the firewall let through in the last minute arrived (with `perMinute`). */
  const answered: number[] = []
  let next = 1
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now()
    let body = ''
    for await (const chunk of req) body += chunk
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/stand-in/stats') {
      const statuses = log.map((l) => l.status)
      return res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ requests: log.length, throttled: statuses.filter((s) => s === 429).length, pages: calls.filter((c) => / p\d+$/.test(c)).length }))
    }
    calls.push(`${req.method} ${url.pathname}${url.searchParams.has('status') ? `?status=${url.searchParams.get('status')}` : ''}${url.searchParams.has('page') ? ` p${url.searchParams.get('page')}` : ''}`)
    const entry = { at, call: calls.at(-1)!, status: 0 }
    log.push(entry)
    res.on('finish', () => { entry.status = res.statusCode })
    if (opts.stallAfter !== undefined && calls.length > opts.stallAfter) return // hangs until the stand-in closes
    const limit = opts.rateLimit
    if (limit !== undefined && calls.length >= limit.from) limitedSince ??= at
    if (limit !== undefined && limitedSince !== undefined && at < limitedSince + limit.forMs) {
      res.writeHead(429, { 'content-type': 'application/json', waf: 'Rate-Limit', ...(limit.retryAfter === undefined ? {} : { 'retry-after': limit.retryAfter }) })
      return res.end(JSON.stringify({ message: 'Too Many Requests' }))
    }
    if (opts.perMinute !== undefined) {
      while (answered.length > 0 && answered[0]! <= at - 60_000) answered.shift()
      if (answered.length >= opts.perMinute) {
        res.writeHead(429, { 'content-type': 'application/json', waf: 'Rate-Limit', 'retry-after': String(Math.ceil((answered[0]! + 60_000 - at) / 1000)) })
        return res.end(JSON.stringify({ message: 'Too Many Requests' }))
      }
      answered.push(at)
    }
    const send = (status: number, value?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(value === undefined ? '' : JSON.stringify(value))
    }
    if (req.headers.authorization !== `Bearer ${opts.token ?? GUPY_TOKEN}`) return send(401, { message: 'Unauthorized' })
    const failure = failures.shift()
    if (failure !== undefined) {
      res.writeHead(failure.status, { 'content-type': 'application/json', ...failure.headers })
      return res.end(failure.body ?? JSON.stringify({ message: 'stand-in failure' }))
    }
    const page = Number(url.searchParams.get('page') ?? 1)
    const perPage = Math.min(100, Number(url.searchParams.get('perPage') ?? 10))
    const paged = (all: unknown[]) => ({ results: all.slice((page - 1) * perPage, page * perPage), totalResults: all.length, page, totalPages: Math.max(1, Math.ceil(all.length / perPage)) })
    /** The listing `all`, as `how` misbehaves (`fresh(i)` makes the i-th item of a page without end). */
    const list = async (all: unknown[], how: Misbehaviour | undefined, fresh: (i: number) => unknown) => {
      if (how === undefined) return send(200, paged(all))
      if (how === 'repeat') return send(200, { results: all.slice(0, perPage), page: 1, totalPages: 1_000_000 })
      if (how === 'endless') return send(200, { results: Array.from({ length: perPage }, (_, i) => fresh((page - 1) * perPage + i)), totalResults: all.length, page, totalPages: page + 1 })
      if (how === 'no-totals') return send(200, { results: paged(all).results })
      if (how === 'null-items') return send(200, { ...paged(all), results: [...paged(all).results, null] })
      if (how === 'html') {
        return res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body><h1>Manutenção</h1><p>${'x'.repeat(2000)}</p></body></html>`)
      }
      const text = JSON.stringify(paged(all))
      if (how === 'truncated') return res.writeHead(200, { 'content-type': 'application/json' }).end(text.slice(0, Math.floor(text.length / 2)))
      res.writeHead(200, { 'content-type': 'application/json' })
      if (how === 'trickle') {
        for (const byte of text) {
          if (res.destroyed) return
          res.write(byte)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        return res.end()
      }
      // huge: 20 MB of one long string inside valid JSON, written as fast as the client reads it.
      const chunk = 'x'.repeat(65_536)
      let sent = 0
      written.push(0)
      res.write('{"results":[],"padding":"')
      while (sent < 20_000_000 && !res.destroyed) {
        sent += chunk.length
        written[written.length - 1] = sent
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const go = () => { res.off('drain', go).off('close', go); resolve() }
            res.on('drain', go).on('close', go)
          })
        }
      }
      if (!res.destroyed) res.end('"}')
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/jobs') {
      const status = url.searchParams.get('status')
      const listed = jobs.filter((j) => !j.gone && (status === null || status === 'published')).map(({ id, name }) => ({ id, name, status: 'published' }))
      return list(listed, opts.misbehave, (i) => ({ id: 900_000 + i, name: `Vaga sem fim ${i}`, status: 'published' }))
    }
    const m = /^\/api\/v1\/jobs\/(\d+)\/applications$/.exec(url.pathname)
    if (req.method === 'GET' && m !== null) {
      const job = jobs.find((j) => String(j.id) === m[1])
      if (job === undefined || job.gone === true) return send(404, { message: 'Job not found' })
      const status = url.searchParams.get('status')
      const matching = job.applications.filter((a) => status === null || a.status === status)
      if (job.shape === 'bare') return send(200, matching)
      return list(matching, job.misbehave, (i) => restApplication(900_000 + i, job, status === null ? {} : { status, endedAt: '2026-10-20T15:00:00.000Z' }))
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/webhooks') return send(200, subs)
    if (req.method === 'POST' && url.pathname === '/api/v1/webhooks') {
      const sub = { id: `00000000-0000-4000-8000-00000000000${next++}`, ...JSON.parse(body) }
      subs.push(sub)
      return send(201, sub)
    }
    const w = /^\/api\/v1\/webhooks\/(.+)$/.exec(url.pathname)
    const existing = subs.find((s) => s.id === w?.[1])
    if (req.method === 'PUT' && existing !== undefined) {
      Object.assign(existing, JSON.parse(body))
      return send(200, existing)
    }
    send(404, { message: 'Not Found' })
  })
  server.keepAliveTimeout = 10
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const close = () => { server.closeAllConnections(); server.close() }
  return { url: `http://127.0.0.1:${port}`, port, jobs, subs, calls, log, failures, written, close }
}
