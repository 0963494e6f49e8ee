/**
 * Gupy's API: authenticated JSON calls paced under its rate limit, that wait out a 429, retry
 * 5xx answers and time-outs with backoff, and its paged listings.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { request, type Dispatcher } from 'undici'

/** Longest wait for Gupy's rate limit before retrying. */
export const MAX_WAIT_MS = 120_000
/** Calls made for one request when Gupy keeps answering 429; the last 429 is an error. */
export const ATTEMPTS = 5
/** Items asked for per page of a listing. */
export const PER_PAGE = 100
/** Requests per minute by default: under Gupy's ~900 per minute per IP, with room for another tool. */
export const REQUESTS_PER_MINUTE = 800
/** First backoff after a 5xx or a time-out; doubled at each further attempt. */
export const BACKOFF_MS = 1000

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Query parameters; undefined ones are left out. */
export type Query = Record<string, string | number | boolean | undefined>

/** A webhook subscription as Gupy lists it (`fields=all`). */
export interface Subscription {
  id: string
  action: string
  status?: string
  postbackUrl?: string
  clientHeaders?: Record<string, string> | null
  techOwnerName?: string
  techOwnerEmail?: string
}

/** Gupy refused or failed a call, or answered in a shape the bridge does not understand. */
export class GupyApiError extends Error {
  /** The HTTP status Gupy answered with (a 2xx one when the answer's shape was the problem). */
  readonly status: number

  constructor (message: string, status: number) {
    super(message)
    this.name = 'GupyApiError'
    this.status = status
  }
}

export interface GupyApiOptions {
  /** Such as https://api.gupy.io; a trailing slash is ignored. */
  baseUrl: string
  /** Sent as `Authorization: Bearer <token>`; never put in a message. */
  token: string
  /** Passed to every request (a MockAgent in tests, a custom Agent); undici's global one otherwise. */
  dispatcher?: Dispatcher
  /** Told before waiting out a 429 or a retry's backoff: how long, and why (method, path and attempt; no secret). */
  onWait?: (ms: number, reason: string) => void
  /** How to wait; timers/promises' setTimeout unless replaced (tests). */
  sleep?: (ms: number) => Promise<unknown>
  /** The clock rate-limit dates are read against; Date.now unless replaced (tests). */
  now?: () => number
  /** Milliseconds to wait for the response's headers, then for its body; 30 s each by default. */
  headersTimeout?: number
  bodyTimeout?: number
  /** Requests started per minute at most, evenly spaced; REQUESTS_PER_MINUTE by default, 0 unpaced. */
  requestsPerMinute?: number
  /** Aborts requests and waits (the service shutting down). */
  signal?: AbortSignal
}

/** One page of a listing, with what Gupy said about the whole list when it said it. */
export interface Page<T> {
  items: T[]
  page: number
  totalPages?: number
  totalResults?: number
}

export interface GupyApi {
  /** One call; the parsed JSON answer, or undefined when the body is empty. Throws GupyApiError on a status ≥ 300. */
  call: (method: Method, path: string, body?: unknown) => Promise<unknown>
  /**
   * The pages of a listing, each as an array: a bare JSON array is the whole list in one call,
   * `{results | data, totalPages}` is followed page by page from 1. `what` names the list in errors.
   */
  pages: <T>(path: string, query?: Query, what?: string) => AsyncGenerator<T[], void, undefined>
  /** The same walk, each page with its number and Gupy's totals (for progress and estimates). */
  listPages: <T>(path: string, query?: Query, what?: string) => AsyncGenerator<Page<T>, void, undefined>
  /** Every item of a listing, all pages collected. */
  listAll: <T>(path: string, query?: Query, what?: string) => Promise<T[]>
  /** Every webhook subscription of the account. */
  listWebhooks: () => Promise<Subscription[]>
  /** HTTP requests made so far (retries included). */
  requests: () => number
}

/** Why Gupy refused a call, in words an operator can act on; never shows the token. */
export function explain (status: number, body: string): string {
  if (status === 401 || status === 403) {
    return `Gupy refused the token (${status}): check GUPY_API_TOKEN, and that the token has the webhook ` +
      'permissions (listing, creating and updating webhook configurations) and those for listing jobs and listing applications'
  }
  return `Gupy answered ${status}: ${body.slice(0, 300)}`
}

/**
 * Why a run against Gupy's API failed, fit for logs and the database: the status and, for a refused
 * token, the permissions; never the body Gupy answered with (it may echo personal data).
 */
export function safeReason (err: unknown): string {
  if (err instanceof GupyApiError) {
    if (err.status === 401 || err.status === 403) return explain(err.status, '')
    if (err.status === 0 || (err.status >= 200 && err.status < 300)) return err.message
    return `Gupy answered ${err.status}`
  }
  const code = (err as { code?: unknown })?.code
  return `${err instanceof Error ? err.name : 'error'}${typeof code === 'string' ? ` (${code})` : ''}`
}

/**
 * Seconds or an HTTP date in Retry-After, else X-RateLimit-Reset: epoch seconds (Gupy's WAF), or
 * seconds from now when the number is too small to be a date; 1 s when neither says; capped.
 */
export function retryDelay (headers: Record<string, string | string[] | undefined>, now: number): number {
  const first = (h: string | string[] | undefined) => Array.isArray(h) ? h[0] : h
  const retryAfter = first(headers['retry-after'])
  const reset = first(headers['x-ratelimit-reset'])
  let ms = 1000
  if (retryAfter !== undefined) ms = /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : Date.parse(retryAfter) - now
  else if (reset !== undefined && /^\d+$/.test(reset)) ms = Number(reset) < 1e9 ? Number(reset) * 1000 : Number(reset) * 1000 - now
  return Math.min(MAX_WAIT_MS, Math.max(0, Number.isFinite(ms) ? ms : 1000))
}

/** `path` with `query` appended, in the order given, after any query `path` already has. */
function withQuery (path: string, query: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.append(key, String(value))
  const search = params.toString()
  if (search === '') return path
  return `${path}${path.includes('?') ? '&' : '?'}${search}`
}

/** Failures worth another attempt: the connection or Gupy timed out or dropped it (not a refusal). */
const TRANSIENT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET',
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'])

function transientCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && TRANSIENT_CODES.has(code) ? code : undefined
}

/** A creation is not retried after a 5xx or a time-out: Gupy may have made it. */
const retriable = (method: Method) => method !== 'POST' && method !== 'PATCH'

export function createGupyApi (options: GupyApiOptions): GupyApi {
  const base = options.baseUrl.replace(/\/+$/, '')
  const { token, dispatcher, onWait, signal } = options
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, { signal }))
  const now = options.now ?? Date.now
  const perMinute = options.requestsPerMinute ?? REQUESTS_PER_MINUTE
  const spacingMs = perMinute > 0 ? 60_000 / perMinute : 0
  // A body that echoes the request must not show the token either (a very short one is left alone).
  const redact = (text: string) => token.length >= 8 ? text.replaceAll(token, '<GUPY_API_TOKEN>') : text
  let made = 0
  /** When the next request may start: requests are spaced evenly, so no minute holds more than perMinute. */
  let nextSlot = 0

  async function paced (): Promise<void> {
    const at = now()
    const slot = Math.max(at, nextSlot)
    nextSlot = slot + spacingMs
    if (slot > at) await sleep(slot - at)
  }

  /** The call, with its status: a listing's unknown shape is reported with the status it came with. */
  async function exchange (method: Method, path: string, body?: unknown): Promise<{ status: number, value: unknown }> {
    for (let attempt = 1; ; attempt++) {
      await paced()
      made++
      let res
      let text
      try {
        res = await request(base + path, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          headersTimeout: options.headersTimeout ?? 30_000,
          bodyTimeout: options.bodyTimeout ?? 30_000,
          ...(signal === undefined ? {} : { signal }),
          ...(dispatcher === undefined ? {} : { dispatcher })
        })
        text = await res.body.text()
      } catch (err) {
        const code = transientCode(err)
        if (code === undefined || signal?.aborted === true) throw err
        if (attempt >= ATTEMPTS || !retriable(method)) throw new GupyApiError(`Gupy could not be reached (${code}) on ${method} ${path} after ${attempt} attempt(s)`, 0)
        const wait = BACKOFF_MS * 2 ** (attempt - 1)
        onWait?.(wait, `${code} on ${method} ${path}, attempt ${attempt} of ${ATTEMPTS}`)
        await sleep(wait)
        continue
      }
      if (res.statusCode === 429 && attempt < ATTEMPTS) {
        const wait = retryDelay(res.headers, now())
        onWait?.(wait, `rate limit (429) on ${method} ${path}, attempt ${attempt} of ${ATTEMPTS}`)
        await sleep(wait)
        continue
      }
      if (res.statusCode >= 500 && attempt < ATTEMPTS && retriable(method)) {
        const wait = BACKOFF_MS * 2 ** (attempt - 1)
        onWait?.(wait, `server error (${res.statusCode}) on ${method} ${path}, attempt ${attempt} of ${ATTEMPTS}`)
        await sleep(wait)
        continue
      }
      if (res.statusCode >= 300) throw new GupyApiError(explain(res.statusCode, redact(text)), res.statusCode)
      return { status: res.statusCode, value: text === '' ? undefined : JSON.parse(text) }
    }
  }

  const call = async (method: Method, path: string, body?: unknown): Promise<unknown> => (await exchange(method, path, body)).value

  const count = (value: unknown) => value == null || !Number.isFinite(Number(value)) ? undefined : Number(value)

  async function * listPages<T> (path: string, query: Query = {}, what: string = path): AsyncGenerator<Page<T>, void, undefined> {
    for (let page = 1; ; page++) {
      const { status, value: body } = await exchange('GET', withQuery(path, { ...query, perPage: PER_PAGE, page }))
      if (Array.isArray(body)) {
        yield { items: body as T[], page, totalPages: 1, totalResults: body.length }
        return
      }
      const paged = (typeof body === 'object' && body !== null ? body : {}) as { results?: unknown, data?: unknown, totalPages?: unknown, totalResults?: unknown }
      const items = paged.results ?? paged.data
      if (!Array.isArray(items)) throw new GupyApiError(`Gupy answered the ${what} list in an unknown shape`, status)
      const totalPages = count(paged.totalPages)
      if (items.length > 0) yield { items: items as T[], page, totalPages, totalResults: count(paged.totalResults) }
      if (totalPages === undefined || page >= totalPages || items.length === 0) return
    }
  }

  async function * pages<T> (path: string, query: Query = {}, what: string = path): AsyncGenerator<T[], void, undefined> {
    for await (const page of listPages<T>(path, query, what)) yield page.items
  }

  async function listAll<T> (path: string, query?: Query, what?: string): Promise<T[]> {
    const all: T[] = []
    for await (const items of pages<T>(path, query, what)) all.push(...items)
    return all
  }

  const listWebhooks = () => listAll<Subscription>('/api/v1/webhooks', { fields: 'all' }, 'subscription')

  return { call, pages, listPages, listAll, listWebhooks, requests: () => made }
}
