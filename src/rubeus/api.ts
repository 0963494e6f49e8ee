/**
 * Rubeus's CRM API (its "Canais/API" channels): `POST <RUBEUS_API_URL>/api/<Method>` with the
 * channel's `origem` and `token` in every body, paced under RUBEUS_API_REQUESTS_PER_MINUTE. A call
 * succeeded only when Rubeus answered 2xx with a JSON body whose `success` is true. A network error,
 * a time-out, 408, 429 or 5xx is tried again after a jittered backoff (1 s doubling, at most 60 s),
 * for as long as it takes unless the caller limits the attempts. Any other answer is a refusal, told
 * in Rubeus's own words (read defensively: Rubeus documents no failure), trimmed, with personal data
 * masked. The token is in no message, reason or log line.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import {
  AnswerTooLargeError, backoffMs, errorName, evenPacer, looksLikeHtml, noAnswer, parseAnswer, receiveWhole, retryAfterMs,
  type Answer
} from '../http-exchange.js'
import { maskPersonalData } from '../personal-data.js'
import { API_REQUESTS_PER_MINUTE, API_TIMEOUT_SECONDS } from '../vocabulary/rubeus-api.js'

/** First wait after a failure worth another attempt; doubled at each further one. */
export const BACKOFF_BASE_MS = 1000
/** Longest wait between two attempts. */
export const BACKOFF_MAX_MS = 60_000
/** Methods Rubeus documents as GET (its LGPD lists); every other one is a POST. */
export const GET_METHODS: ReadonlySet<string> = new Set(['Lgpd/listarBasesLegais', 'Lgpd/listarAssinaturasAtivas'])

/**
 * What became of a call: done, with what Rubeus answered (`data`: its `dados`, or the `id` that a
 * few methods answer instead), or refused, with why in Rubeus's words (no token, personal data
 * masked); `successFalse` when the refusal was a 2xx JSON answer saying `success: false`.
 */
export type Outcome =
  | { ok: true, data: unknown, answer: Record<string, unknown> }
  | { ok: false, refused: string, status: number, successFalse?: boolean }

/** No answer worth the name within the attempts allowed: Rubeus unreachable, failing (5xx) or too slow. */
export class RubeusUnavailableError extends Error {
  override name = 'RubeusUnavailableError'
}

export interface RubeusApiOptions {
  /** RUBEUS_API_URL, such as https://crmsuaempresa.apprubeus.com.br; `/api/<Method>` is appended. */
  baseUrl: string
  /** The channel's id (RUBEUS_ORIGEM), sent as a number. */
  origem: string | number
  /** The channel's key (RUBEUS_API_TOKEN): in every body, never in a message. */
  token: string
  dispatcher?: Dispatcher
  /** Requests started per minute at most, evenly spaced; API_REQUESTS_PER_MINUTE by default, 0 unpaced. */
  requestsPerMinute?: number
  /** Milliseconds the whole answer (headers and body) may take; API_TIMEOUT_SECONDS by default. */
  timeoutMs?: number
  /** Attempts of one call at most before RubeusUnavailableError; unlimited by default. */
  attempts?: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** Told before each wait for another attempt: how long, and why (the method and what failed; no token, no body). */
  onRetry?: (waitMs: number, why: string) => void
  /** Stops every call and wait (the service shutting down): they reject with the signal's reason. */
  signal?: AbortSignal
  /** How to wait, the clock and the jitter; real ones unless replaced (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>
  now?: () => number
  random?: () => number
}

export interface CallOptions {
  /** Attempts of this call at most (1: no retry, for a creation whose lost answer must be looked up first). */
  attempts?: number
  signal?: AbortSignal
  /** Told before each wait for another attempt of this call, instead of the client's `onRetry`. */
  onRetry?: (waitMs: number, why: string) => void
}

export interface RubeusApi {
  /** `method` as Rubeus names it (`Contato/cadastro`); `fields` without `origem` and `token`, which are added. */
  call: (method: string, fields?: Record<string, unknown>, options?: CallOptions) => Promise<Outcome>
  /** HTTP requests made so far (retries included). */
  requests: () => number
  /** Waits as the client does before another attempt (`attempt` counts from 1), for a caller that retries itself. */
  backoff: (attempt: number, signal?: AbortSignal) => Promise<unknown>
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Where Rubeus may put its reasons; public clients read these (Rubeus documents no failure answer). */
const REASON_KEYS = ['message', 'mensagem', 'erro', 'errors', 'error']

/** The words in a reason: strings, lists of them, `[{erro | mensagem}]`, `{field: [messages]}`. */
function reasonWords (value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return value.trim() === '' ? [] : [value.trim()]
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)]
  if (depth > 4 || value === null || typeof value !== 'object') return []
  if (Array.isArray(value)) return value.flatMap((item) => reasonWords(item, depth + 1))
  const own = REASON_KEYS.flatMap((key) => reasonWords(value[key as keyof typeof value], depth + 1))
  if (own.length > 0) return own
  return Object.entries(value).flatMap(([key, item]) => reasonWords(item, depth + 1).map((words) => `${key}: ${words}`))
}

/** Rubeus's reasons in a JSON answer, on one line; undefined when it gives none. */
export function rubeusReason (body: Record<string, unknown>): string | undefined {
  const words = [...new Set(REASON_KEYS.flatMap((key) => reasonWords(body[key])))]
  return words.length === 0 ? undefined : words.join('; ')
}

/** Rubeus wraps a few answers (`listarCidade`) as `{resultado: {success, dados}}`. */
const unwrap = (body: Record<string, unknown>) => !('success' in body) && isObject(body.resultado) ? body.resultado : body

export function createRubeusApi (options: RubeusApiOptions): RubeusApi {
  const base = options.baseUrl.replace(/\/+$/, '')
  const { token, dispatcher, onRetry } = options
  const origem = Number(options.origem)
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }))
  const now = options.now ?? Date.now
  const timeoutMs = options.timeoutMs ?? API_TIMEOUT_SECONDS * 1000
  const backoff = { baseMs: options.backoffBaseMs ?? BACKOFF_BASE_MS, maxMs: options.backoffMaxMs ?? BACKOFF_MAX_MS, random: options.random }
  const paced = evenPacer(options.requestsPerMinute ?? API_REQUESTS_PER_MINUTE, { now, sleep })
  // Rubeus may echo the body it was sent, token included: it is cut out of anything said (a very short one is left alone).
  const redact = (text: string) => (token.length >= 6 ? text.replaceAll(token, '[token]') : text)
    .replace(/("token"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"[token]"')
  const said = (text: string) => maskPersonalData(redact(text))
  let made = 0

  /** Done, refused, or worth another attempt (with why, and how long Rubeus asked to wait). */
  function judge (method: string, res: Answer): Outcome | { retry: string, afterMs?: number | undefined } {
    const { status } = res
    if (status === 429) return { retry: 'Rubeus\'s rate limit (429)', afterMs: retryAfterMs(res.headers, now()) }
    if (status === 408 || status >= 500) return { retry: `Rubeus answered ${status}` }
    const parsed = parseAnswer(res)
    const ok = status >= 200 && status < 300
    if (parsed.json && isObject(parsed.value)) {
      const body = unwrap(parsed.value)
      if (ok && body.success === true) return { ok: true, data: 'dados' in body ? body.dados : body.id, answer: body }
      const label = !ok ? `HTTP ${status}` : body.success === false ? 'success: false' : 'no success: true'
      const why = rubeusReason(body) ?? (ok ? 'no reason given' : JSON.stringify(body))
      return { ok: false, status, refused: `Rubeus refused ${method} (${label}): ${said(why)}`, ...(ok && body.success === false ? { successFalse: true } : {}) }
    }
    if (ok || looksLikeHtml(res.text) || res.text.trim() === '') {
      const what = parsed.json ? `JSON that is not an object (${res.bytes} bytes)` : parsed.description
      return { ok: false, status, refused: `Rubeus answered ${method} with ${what} (HTTP ${status}), not the JSON expected` }
    }
    return { ok: false, status, refused: `Rubeus refused ${method} (HTTP ${status}): ${said(res.text)}` }
  }

  async function call (method: string, fields: Record<string, unknown> = {}, callOptions: CallOptions = {}): Promise<Outcome> {
    const attempts = callOptions.attempts ?? options.attempts ?? Infinity
    const signals = [options.signal, callOptions.signal].filter((s): s is AbortSignal => s !== undefined)
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0]
    const get = GET_METHODS.has(method)
    // Rubeus does not say where a GET carries the channel: in the query and in a body, so either reading finds it.
    const query = get ? `?${new URLSearchParams({ origem: String(origem), token })}` : ''
    const exchange = {
      method: get ? 'GET' as const : 'POST' as const,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ ...fields, origem, token }),
      timeoutMs,
      dispatcher,
      signal
    }
    for (let attempt = 1; ; attempt++) {
      await paced(signal)
      made++
      let why: string
      let afterMs: number | undefined
      try {
        const judged = judge(method, await receiveWhole(`${base}/api/${method}${query}`, exchange))
        if (!('retry' in judged)) return judged
        why = judged.retry
        afterMs = judged.afterMs
      } catch (err) {
        if (signal?.aborted === true) throw signal.reason ?? err
        if (err instanceof AnswerTooLargeError) {
          return { ok: false, status: err.status, refused: `Rubeus's answer to ${method} is larger than ${err.maxBytes / 1_000_000} MB; it was not read further` }
        }
        const failed = noAnswer(err)
        if (failed === undefined) throw new RubeusUnavailableError(`Rubeus could not be reached on ${method}: ${errorName(err)}`)
        why = failed.late
          ? `Rubeus gave no whole answer within ${timeoutMs / 1000} s (RUBEUS_API_TIMEOUT_SECONDS)`
          : `Rubeus could not be reached (${failed.code})`
      }
      if (attempt >= attempts) throw new RubeusUnavailableError(`${why} on ${method}, ${attempt} attempt(s)`)
      const waitMs = Math.min(backoff.maxMs, Math.max(backoffMs(attempt, backoff), afterMs ?? 0))
      ;(callOptions.onRetry ?? onRetry)?.(waitMs, `${why} on ${method}, attempt ${attempt}`)
      await sleep(waitMs, signal)
    }
  }

  return {
    call,
    requests: () => made,
    backoff: (attempt, signal) => sleep(backoffMs(attempt, backoff), signal ?? options.signal)
  }
}
