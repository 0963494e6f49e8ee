/** The Gupy webhook envelope: only `id`, `event` and `date` are required; everything else is kept raw. */
import { z } from 'zod'
import type { Outcome } from '../vocabulary/gupy-events.js'

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * Parses an ISO-8601 date-time (Gupy sends `2025-07-03T13:22:51.239Z`) into epoch milliseconds.
 * A time without a zone is read as UTC. Returns undefined for anything else, including
 * impossible calendar dates that `Date.parse` would silently roll over.
 */
export function parseEventDate (value: string): number | undefined {
  const m = ISO_DATE_TIME.exec(value.trim())
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s = '0', zone] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const probe = new Date(Date.UTC(year, month - 1, day))
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined
  let normalised = value.trim().replace(' ', 'T')
  if (zone === undefined) normalised += 'Z'
  else if (/^[+-]\d{2}$/.test(zone)) normalised += ':00'
  else if (/^[+-]\d{4}$/.test(zone)) normalised = normalised.slice(0, -2) + ':' + normalised.slice(-2)
  const ms = Date.parse(normalised)
  return Number.isFinite(ms) ? ms : undefined
}

/** Gupy was founded in 2015: an earlier date is a broken sender. */
export const EARLIEST_EVENT_DATE = Date.UTC(2000, 0, 1)
/** Clocks drift, but a delivery dated more than a day ahead would win last-writer-wins for good. */
export const MAX_FUTURE_MS = 86_400_000

/** Why a delivery date cannot be used to order deliveries, or undefined when it can. */
export function outsideDateWindow (ms: number, now: number): string | undefined {
  if (ms < EARLIEST_EVENT_DATE) return 'is before 2000-01-01: not a real delivery date'
  if (ms > now + MAX_FUTURE_MS) return 'is more than a day ahead of this server\'s clock: it would override every later delivery'
  return undefined
}

// zod prefixes each message with its path (`body/id …`), so messages start with the verb.
const requiredString = (max: number) => z.string({
  error: (issue) => issue.input === undefined || issue.input === null ? 'is required' : 'must be a string'
}).trim().min(1, 'must not be empty').max(max, `is longer than ${max} characters`)

export const EnvelopeSchema = z.object({
  id: requiredString(200),
  event: requiredString(100),
  date: requiredString(64).transform((value, ctx) => {
    const ms = parseEventDate(value)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date-time such as 2025-07-03T13:22:51.239Z' })
      return z.NEVER
    }
    const problem = outsideDateWindow(ms, Date.now())
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem })
      return z.NEVER
    }
    return ms
  })
}, { error: 'must be a JSON object with id, event and date' })

/** The answer to Gupy. */
export interface Ack {
  status: Outcome
  id: string
}
