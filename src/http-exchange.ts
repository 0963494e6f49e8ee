/**
 * One exchange with another platform's API, checked and never trusted: the whole answer within a
 * deadline and a size limit, read as the bytes stream in; which failures to get an answer are worth
 * another attempt; the jittered backoff between attempts; requests spaced evenly under a budget; and
 * what came back when it is not JSON, in a few words. The pieces the API clients have in common.
 */
import { request, type Dispatcher } from 'undici'

/** The largest answer read; reading stops there (the real answers are well under 1 MB). */
export const MAX_ANSWER_BYTES = 10_000_000

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface Exchange {
  method: HttpMethod
  headers: Record<string, string>
  body?: string | undefined
  /** Milliseconds the whole answer (headers and body) may take. */
  timeoutMs: number
  /** Passed to the request (a MockAgent in tests, a custom Agent); undici's global one otherwise. */
  dispatcher?: Dispatcher | undefined
  /** Aborts the request (the process shutting down). */
  signal?: AbortSignal | undefined
  maxBytes?: number
}

/** An answer read whole, within its deadline and the size limit. */
export interface Answer { status: number, headers: Record<string, string | string[] | undefined>, text: string, bytes: number }

/** The whole-answer deadline passed: a time-out, whether headers or body were late. */
export class LateAnswerError extends Error {
  override name = 'LateAnswerError'
}

/** The answer was larger than the limit; it was not read further. */
export class AnswerTooLargeError extends Error {
  override name = 'AnswerTooLargeError'
  constructor (readonly status: number, readonly maxBytes: number) {
    super(`the answer is larger than ${maxBytes / 1_000_000} MB`)
  }
}

/**
 * One request and its whole answer within `timeoutMs` (undici's own time-outs only limit the silence
 * between two chunks, so an answer that trickles in would never end), counting the bytes as they come
 * and stopping past the limit. Throws LateAnswerError, AnswerTooLargeError, or undici's error.
 */
export async function receiveWhole (url: string, exchange: Exchange): Promise<Answer> {
  const { signal, timeoutMs } = exchange
  const maxBytes = exchange.maxBytes ?? MAX_ANSWER_BYTES
  const aborter = new AbortController()
  let late = false
  const deadline = setTimeout(() => { late = true; aborter.abort() }, timeoutMs)
  const stop = () => aborter.abort(signal?.reason)
  if (signal?.aborted === true) stop()
  signal?.addEventListener('abort', stop, { once: true })
  try {
    const res = await request(url, {
      method: exchange.method,
      headers: exchange.headers,
      body: exchange.body,
      // A backstop only: the deadline comes first.
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000,
      signal: aborter.signal,
      ...(exchange.dispatcher === undefined ? {} : { dispatcher: exchange.dispatcher })
    })
    const tooLarge = () => {
      res.body.destroy()
      return new AnswerTooLargeError(res.statusCode, maxBytes)
    }
    if (Number(res.headers['content-length']) > maxBytes) throw tooLarge()
    const chunks: Buffer[] = []
    let bytes = 0
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length
      if (bytes > maxBytes) throw tooLarge()
      chunks.push(chunk)
    }
    return { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), bytes }
  } catch (err) {
    throw late && signal?.aborted !== true ? new LateAnswerError() : err
  } finally {
    clearTimeout(deadline)
    signal?.removeEventListener('abort', stop)
  }
}

/**
 * Failures to get an answer that another attempt may cure: the connection was refused, dropped or
 * timed out, the name did not resolve. Not a refusal: the other side said nothing.
 */
const TRANSIENT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET',
  'UND_ERR_CLOSED', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH',
  'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN'])
/** undici's own time-outs: the same thing as the deadline, said the same way. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** Why no answer came, when another attempt may bring one: late (the deadline) or a connection error's code. */
export function noAnswer (err: unknown): { late: boolean, code: string } | undefined {
  if (err instanceof LateAnswerError) return { late: true, code: 'deadline' }
  const code = (err as { code?: unknown })?.code
  if (typeof code !== 'string' || !TRANSIENT_CODES.has(code)) return undefined
  return { late: TIMEOUT_CODES.has(code), code }
}

/** An error in words fit for a message: its name and code, never its text (it may hold an address or a body). */
export function errorName (err: unknown): string {
  const code = (err as { code?: unknown })?.code
  return `${err instanceof Error ? err.name : 'error'}${typeof code === 'string' ? ` (${code})` : ''}`
}

/** Backoff before attempt `attempt + 1`: `baseMs` doubling up to `maxMs`, with jitter. */
export interface Backoff { baseMs: number, maxMs: number, random?: () => number }

/**
 * The wait after the `attempt`-th failure: baseMs · 2^(attempt−1), at most maxMs, less up to a quarter
 * at random so that clients that failed together do not come back together (never more than maxMs).
 */
export function backoffMs (attempt: number, { baseMs, maxMs, random = Math.random }: Backoff): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 40))
  return Math.round(nominal * (1 - 0.25 * random()))
}

/** The first value of a header. */
export const headerValue = (value: string | string[] | undefined) => Array.isArray(value) ? value[0] : value

/** Retry-After, in seconds or as an HTTP date, as milliseconds from `now`; undefined when absent or unreadable. */
export function retryAfterMs (headers: Record<string, string | string[] | undefined>, now: number): number | undefined {
  const value = headerValue(headers['retry-after'])?.trim()
  if (value === undefined || value === '') return undefined
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined
}

/**
 * Requests spaced evenly, so that no minute holds more than `perMinute` (0: unpaced). Each call
 * reserves the next slot at once, so callers waiting together still go one slot apart.
 */
export function evenPacer (perMinute: number, clock: { now: () => number, sleep: (ms: number, signal?: AbortSignal) => Promise<unknown> }) {
  const spacingMs = perMinute > 0 ? 60_000 / perMinute : 0
  let nextSlot = 0
  return async function paced (signal?: AbortSignal): Promise<void> {
    const at = clock.now()
    const slot = Math.max(at, nextSlot)
    nextSlot = slot + spacingMs
    if (slot > at) await clock.sleep(slot - at, signal)
  }
}

export const looksLikeHtml = (text: string) => /^\s*<(!doctype|html|head|body|\?xml|[a-z]+[\s>])/i.test(text)

/** What came back instead of JSON, in a few words (never its content: it may hold personal data). */
export function describeNotJson (text: string, bytes: number, contentType: string | undefined, parseError: unknown): string {
  const type = contentType === undefined ? '' : `, ${contentType.replace(/[^\w/.+;=-]/g, '').slice(0, 60)}`
  if (text.trim() === '') return `an empty answer (${bytes} bytes${type})`
  if (looksLikeHtml(text)) return `an HTML page (${bytes} bytes${type})`
  if (/^\s*[[{]/.test(text)) {
    // V8 says where parsing stopped: at the very end of the text, the text was cut short.
    const said = (parseError as Error)?.message ?? ''
    const at = /position (\d+)/.exec(said)
    const truncated = /end of (json )?input/i.test(said) || (at !== null && Number(at[1]) >= text.trimEnd().length)
    return `${truncated ? 'truncated' : 'broken'} JSON (${bytes} bytes${type})`
  }
  return `text that is not JSON (${bytes} bytes${type})`
}

/** The answer's JSON, or what came back instead, in a few words. */
export function parseAnswer (answer: Answer): { json: true, value: unknown } | { json: false, description: string } {
  try {
    return { json: true, value: JSON.parse(answer.text) }
  } catch (err) {
    return { json: false, description: describeNotJson(answer.text, answer.bytes, headerValue(answer.headers['content-type']), err) }
  }
}
