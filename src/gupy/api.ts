/**
 * Gupy's API: authenticated JSON calls paced under one request budget (shared by every process on
 * the database when the store's is given), a 429 that pauses everyone sharing it, retries of 5xx
 * answers and time-outs with backoff, and its paged listings. What Gupy answers is checked,
 * never trusted: each answer has a deadline for the whole of it and a size limit, paging is bounded,
 * and an answer that is not the JSON expected fails with one line saying what came back.
 */
import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import { AnswerTooLargeError, errorName, headerValue, looksLikeHtml, noAnswer, parseAnswer, receiveWhole, retryAfterMs, type Answer } from '../http-exchange.js'
import { maskPersonalData } from '../personal-data.js'
import { MAX_PAGES, REQUESTS_PER_MINUTE, TIMEOUT_SECONDS, type CutReason } from '../vocabulary/gupy-api.js'

/** Longest pause a 429 sets, whatever it says (Gupy's firewall counts the previous 5 minutes). */
export const MAX_WAIT_MS = 600_000
/** A 429 without Retry-After pauses at least this long (Gupy's firewall re-checks every 30 s). */
export const MIN_PAUSE_MS = 60_000
/** A wait for a free slot this long or longer is told (onWait); shorter ones are ordinary pacing. */
export const TOLD_WAIT_MS = 2000
/** Calls made for one request when Gupy keeps failing (5xx, time-outs); a 429 is waited out and not counted. */
export const ATTEMPTS = 5
/** Items asked for per page of a listing. */
export const PER_PAGE = 100
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
  /**
   * Told before a wait worth telling: a pause after a 429 (`reason` names the call Gupy refused), a
   * free slot of the budget TOLD_WAIT_MS or more away, a retry's backoff. Never a secret.
   */
  onWait?: (ms: number, reason: string, kind: WaitKind) => void
  /** Where requests take their slots; the store's (shared by every process on the database), else this client's own. */
  budget?: RequestBudget
  /** How to wait; timers/promises' setTimeout unless replaced (tests). */
  sleep?: (ms: number) => Promise<unknown>
  /** The clock rate-limit dates are read against; Date.now unless replaced (tests). */
  now?: () => number
  /** Milliseconds the whole answer (headers and body) may take; TIMEOUT_SECONDS by default. */
  timeoutMs?: number
  /** Pages of one listing at most; MAX_PAGES unless replaced (tests). */
  maxPages?: number
  /** Requests started per minute at most, evenly spaced, by everyone sharing the budget; REQUESTS_PER_MINUTE by default, 0 unpaced. */
  requestsPerMinute?: number
  /** Aborts requests and waits (the service shutting down). */
  signal?: AbortSignal
}

/**
 * How a wait is told (onWait): a pause after a 429, a free slot of the budget far away, a retry's backoff.
 */
export type WaitKind = 'pause' | 'budget' | 'retry'

/**
 * The slots requests start in. `take` returns when the next request may start: `spacingMs` after the
 * slot taken last by anyone sharing the budget, and not before a pause ends; `pause` (a 429) holds
 * every request back until `until`. The store's budget (store/gupy-budget) is shared through the
 * database; ownBudget is one process's.
 */
export interface RequestBudget {
  take: (now: number, spacingMs: number) => number | Promise<number>
  pause: (until: number, reason: string, now: number) => void | Promise<void>
  paused: (now: number) => { until: number, reason: string } | undefined | Promise<{ until: number, reason: string } | undefined>
}

/** A budget of this process alone. */
export function ownBudget (): RequestBudget {
  let next = 0
  let pausedUntil = 0
  let reason = ''
  return {
    take (now, spacingMs) {
      const at = Math.max(now, next, pausedUntil)
      next = at + spacingMs
      return at
    },
    pause (until, why) {
      if (until >= pausedUntil) reason = why
      pausedUntil = Math.max(pausedUntil, until)
    },
    paused: (now) => pausedUntil > now ? { until: pausedUntil, reason } : undefined
  }
}

/**
 * One page of a listing, with what Gupy said about the whole list when it said it. A listing cut
 * short ends with a page without items that says why (`cut`).
 */
export interface Page<T> {
  items: T[]
  page: number
  totalPages?: number | undefined
  totalResults?: number | undefined
  cut?: CutReason
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
  /** So far: milliseconds waited for the budget (free slots and pauses), and 429s Gupy answered. */
  waits: () => { ms: number, rateLimited: number }
}

/**
 * Why Gupy refused a call, in words an operator can act on: the start of what Gupy said, on one line,
 * with personal data masked; never the token.
 */
export function explain (status: number, body: string): string {
  if (status === 401 || status === 403) {
    return `Gupy refused the token (${status}): check GUPY_API_TOKEN, and that the token has the webhook ` +
      'permissions (listing, creating and updating webhook configurations) and those for listing jobs and listing applications'
  }
  if (looksLikeHtml(body)) return `Gupy answered ${status} with an HTML page`
  const said = maskPersonalData(body)
  return `Gupy answered ${status}${said === '' ? '' : `: ${said}`}`
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
  return errorName(err)
}

/**
 * How long a 429 pauses every request: the Retry-After Gupy gives (seconds or an HTTP date), else
 * at least MIN_PAUSE_MS, longer when X-RateLimit-Reset says so (epoch seconds, or seconds from now
 * when the number is too small to be a date); at most MAX_WAIT_MS.
 */
export function rateLimitPause (headers: Record<string, string | string[] | undefined>, now: number): number {
  const retryAfter = retryAfterMs(headers, now)
  if (retryAfter !== undefined) return Math.min(MAX_WAIT_MS, retryAfter)
  const reset = headerValue(headers['x-ratelimit-reset'])?.trim()
  let ms = MIN_PAUSE_MS
  if (reset !== undefined && /^\d+$/.test(reset)) ms = Math.max(ms, Number(reset) < 1e9 ? Number(reset) * 1000 : Number(reset) * 1000 - now)
  return Math.min(MAX_WAIT_MS, ms)
}

/** `path` with `query` appended, in the order given, after any query `path` already has. */
function withQuery (path: string, query: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.append(key, String(value))
  const search = params.toString()
  if (search === '') return path
  return `${path}${path.includes('?') ? '&' : '?'}${search}`
}

/** A creation is not retried after a 5xx or a time-out: Gupy may have made it. */
const retriable = (method: Method) => method !== 'POST' && method !== 'PATCH'

const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value)

export function createGupyApi (options: GupyApiOptions): GupyApi {
  const base = options.baseUrl.replace(/\/+$/, '')
  const { token, dispatcher, onWait, signal } = options
  const budget = options.budget ?? ownBudget()
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, { signal }))
  const now = options.now ?? Date.now
  const perMinute = options.requestsPerMinute ?? REQUESTS_PER_MINUTE
  const spacingMs = perMinute > 0 ? 60_000 / perMinute : 0
  const timeoutMs = options.timeoutMs ?? TIMEOUT_SECONDS * 1000
  const maxPages = options.maxPages ?? MAX_PAGES
  // A body that echoes the request must not show the token either (a very short one is left alone).
  const redact = (text: string) => token.length >= 8 ? text.replaceAll(token, '<GUPY_API_TOKEN>') : text
  let made = 0
  let waitedMs = 0
  let rateLimited = 0

  /**
   * Waits for this request's slot of the budget: requests are spaced evenly, so no minute holds more
   * than perMinute from everyone sharing it, and none starts while a 429's pause lasts.
   */
  async function paced (): Promise<void> {
    for (;;) {
      const wait = await budget.take(now(), spacingMs) - now()
      if (wait > 0) {
        const pause = await budget.paused(now())
        if (pause !== undefined) onWait?.(wait, pause.reason, 'pause')
        else if (wait >= TOLD_WAIT_MS) onWait?.(wait, `a free slot of the request budget (${perMinute} a minute for everyone sharing it)`, 'budget')
        waitedMs += wait
        await sleep(wait)
      }
      // A 429 that came while this request waited for its slot voids the slot: it takes one after the pause.
      if (await budget.paused(now()) === undefined) return
    }
  }

  /** One request and its whole answer, within the deadline and the size limit (src/http-exchange.ts). */
  async function receive (method: Method, path: string, body: unknown): Promise<Answer> {
    try {
      return await receiveWhole(base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs,
        dispatcher,
        signal
      })
    } catch (err) {
      if (!(err instanceof AnswerTooLargeError)) throw err
      throw new GupyApiError(`Gupy's answer to ${method} ${path} is larger than ${err.maxBytes / 1_000_000} MB; it was not read further`, err.status)
    }
  }

  /** The call, with its status: a listing's unknown shape is reported with the status it came with. */
  async function exchange (method: Method, path: string, body?: unknown): Promise<{ status: number, value: unknown }> {
    for (let attempt = 1; ; attempt++) {
      await paced()
      made++
      let res: Answer
      try {
        res = await receive(method, path, body)
      } catch (err) {
        if (err instanceof GupyApiError || signal?.aborted === true) throw err
        const why = noAnswer(err)
        if (why === undefined) throw err
        const { late } = why
        const what = late ? `no whole answer within ${timeoutMs / 1000} s (GUPY_API_TIMEOUT_SECONDS)` : why.code
        if (attempt >= ATTEMPTS || !retriable(method)) {
          throw new GupyApiError(late
            ? `Gupy gave ${what} to ${method} ${path}, ${attempt} attempt(s)`
            : `Gupy could not be reached (${what}) on ${method} ${path} after ${attempt} attempt(s)`, 0)
        }
        const wait = BACKOFF_MS * 2 ** (attempt - 1)
        onWait?.(wait, `${what} on ${method} ${path}, attempt ${attempt} of ${ATTEMPTS}`, 'retry')
        await sleep(wait)
        continue
      }
      if (res.status === 429) {
        // Never fatal, and not an attempt: everyone sharing the budget pauses, then this call is made again.
        rateLimited++
        const at = now()
        const waf = res.headers.waf === undefined ? '' : ` (WAF: ${String(res.headers.waf).replace(/[^\w :-]/g, '').slice(0, 40)})`
        await budget.pause(at + rateLimitPause(res.headers, at), `429${waf} on ${method} ${path}`, at)
        attempt--
        continue
      }
      if (res.status >= 500 && attempt < ATTEMPTS && retriable(method)) {
        const wait = BACKOFF_MS * 2 ** (attempt - 1)
        onWait?.(wait, `server error (${res.status}) on ${method} ${path}, attempt ${attempt} of ${ATTEMPTS}`, 'retry')
        await sleep(wait)
        continue
      }
      if (res.status >= 300) throw new GupyApiError(explain(res.status, redact(res.text)), res.status)
      if (res.text.trim() === '') return { status: res.status, value: undefined }
      const parsed = parseAnswer(res)
      if (!parsed.json) throw new GupyApiError(`Gupy answered ${method} ${path} with ${parsed.description}, not the JSON expected`, res.status)
      return { status: res.status, value: parsed.value }
    }
  }

  const call = async (method: Method, path: string, body?: unknown): Promise<unknown> => (await exchange(method, path, body)).value

  const count = (value: unknown) => value == null || value === '' || !Number.isFinite(Number(value)) ? undefined : Number(value)

  /**
   * A bare array is the whole list. Otherwise pages from 1, until `totalPages`, an empty page, a short
   * page when Gupy gives no totals, or as many items as `totalResults` said; a page that repeats an
   * earlier one, more items than announced, or MAX_PAGES pages end the walk with a `cut` page.
   */
  async function * listPages<T> (path: string, query: Query = {}, what: string = path): AsyncGenerator<Page<T>, void, undefined> {
    const seen = new Set<string>()
    let items = 0
    for (let page = 1; ; page++) {
      const { status, value: body } = await exchange('GET', withQuery(path, { ...query, perPage: PER_PAGE, page }))
      const paged = (isObject(body) ? body : {}) as { results?: unknown, data?: unknown, totalPages?: unknown, totalResults?: unknown }
      const list = Array.isArray(body) ? body : paged.results ?? paged.data
      if (!Array.isArray(list)) throw new GupyApiError(`Gupy answered the ${what} list in an unknown shape`, status)
      const odd = list.filter((item) => !isObject(item)).length
      if (odd > 0) throw new GupyApiError(`Gupy answered page ${page} of the ${what} list with ${odd} item(s) that are not objects (null, a number, a list)`, status)
      if (Array.isArray(body)) {
        yield { items: list as T[], page, totalPages: 1, totalResults: list.length }
        return
      }
      if (list.length === 0) return
      const fingerprint = createHash('sha256').update(JSON.stringify(list)).digest('base64')
      if (seen.has(fingerprint)) {
        yield { items: [], page, cut: 'repeatedPage' }
        return
      }
      seen.add(fingerprint)
      items += list.length
      const totalPages = count(paged.totalPages)
      const totalResults = count(paged.totalResults)
      yield { items: list as T[], page, totalPages, totalResults }
      if (totalResults !== undefined && items > totalResults) {
        yield { items: [], page, cut: 'pastTotals' }
        return
      }
      if (totalPages !== undefined && page >= totalPages) return
      if (totalResults !== undefined && items === totalResults) return
      if (totalPages === undefined && totalResults === undefined && list.length < PER_PAGE) return
      if (page >= maxPages) {
        yield { items: [], page, cut: 'pageCap' }
        return
      }
    }
  }

  async function * pages<T> (path: string, query: Query = {}, what: string = path): AsyncGenerator<T[], void, undefined> {
    for await (const page of listPages<T>(path, query, what)) if (page.cut === undefined) yield page.items
  }
  async function listAll<T> (path: string, query?: Query, what?: string): Promise<T[]> {
    const all: T[] = []
    for await (const items of pages<T>(path, query, what)) all.push(...items)
    return all
  }

  const listWebhooks = () => listAll<Subscription>('/api/v1/webhooks', { fields: 'all' }, 'subscription')

  return { call, pages, listPages, listAll, listWebhooks, requests: () => made, waits: () => ({ ms: waitedMs, rateLimited }) }
}
