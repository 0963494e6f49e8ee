/**
 * Posts `{"text": …}` to a chat's incoming webhook (Slack, Teams Workflows, Google Chat…). The
 * address is a secret (its path or query lets anyone post to the channel): only its host is ever
 * said, in results, logs and errors.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request, type Dispatcher } from 'undici'

/** Each attempt gets this long, connection and answer included. */
export const ATTEMPT_TIMEOUT_MS = 10_000

export type Posted =
  | { ok: true, status: number }
  | { ok: false, reason: string, attempts: number }

export interface PostOptions {
  dispatcher?: Dispatcher | undefined
  /** 1 means no retry. */
  attempts?: number
  /** Wait before the second attempt, doubled before each later one. */
  retryDelayMs?: number
  timeoutMs?: number
  /** Aborts the attempt under way and the waits (the service is closing). */
  signal?: AbortSignal | undefined
}

/** The part of the address that may be shown. */
export function alertHost (url: string): string {
  return new URL(url).host
}

/** An agent whose connections give up as an attempt does. */
export function alertAgent (timeoutMs = ATTEMPT_TIMEOUT_MS): Agent {
  return new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
}

/** Refusals that another attempt cannot fix (a removed webhook, a bad payload) are not retried. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500

/** Slack answers a short code (`no_service`, `channel_is_archived`) worth showing; anything else is not shown. */
const SHORT_CODE = /^[a-z][a-z_]{1,39}$/

interface Attempt { ok: boolean, status?: number, reason: string, retry: boolean }

async function attempt (url: string, text: string, opts: PostOptions, timeoutMs: number): Promise<Attempt> {
  const host = alertHost(url)
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout])
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ text }),
      dispatcher: opts.dispatcher,
      signal
    })
    const body = (await res.body.text()).trim()
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode, reason: '', retry: false }
    const detail = SHORT_CODE.test(body) ? ` (${body})` : ''
    return { ok: false, status: res.statusCode, reason: `${host} answered ${res.statusCode}${detail}`, retry: retryable(res.statusCode) }
  } catch (err) {
    if (opts.signal?.aborted === true) return { ok: false, reason: 'stopped: the service is closing', retry: false }
    if (timeout.aborted) return { ok: false, reason: `${host} did not answer within ${timeoutMs / 1000} s`, retry: true }
    // The error's code only: some messages quote the address.
    const code = (err as { code?: unknown }).code
    return { ok: false, reason: `could not reach ${host}: ${typeof code === 'string' ? code : (err as Error).name}`, retry: true }
  }
}

/** Posts the text; retries a timeout, a network error, a 408, 429 or 5xx with a doubling wait. Never throws. */
export async function postAlert (url: string, text: string, opts: PostOptions = {}): Promise<Posted> {
  const attempts = opts.attempts ?? 4
  const timeoutMs = opts.timeoutMs ?? ATTEMPT_TIMEOUT_MS
  let wait = opts.retryDelayMs ?? 1000
  for (let n = 1; ; n++) {
    const result = await attempt(url, text, opts, timeoutMs)
    if (result.ok) return { ok: true, status: result.status! }
    if (!result.retry || n >= attempts) return { ok: false, reason: result.reason, attempts: n }
    try {
      await sleep(wait, undefined, { signal: opts.signal })
    } catch {
      return { ok: false, reason: 'stopped: the service is closing', attempts: n }
    }
    wait *= 2
  }
}
