/**
 * Gupy's API as the bridge uses it, in words several layers share: the default pace and deadline of
 * a call, what a run against the API may leave out (skipped applications, listings cut short), and
 * how long it waited for the request budget.
 */

/** Requests per minute by default, every process on the database together: Gupy allows 500 per IP, this leaves room for another tool. */
export const REQUESTS_PER_MINUTE = 400
/** What Gupy's firewall allows per minute and IP address. */
export const GUPY_LIMIT_PER_MINUTE = 500
/** Seconds an answer may take, headers and body together, by default (GUPY_API_TIMEOUT_SECONDS). */
export const TIMEOUT_SECONDS = 30
/** Pages of one listing at most (200,000 items): a listing that never ends is cut there. */
export const MAX_PAGES = 2000

/**
 * Why a listing was cut short of what Gupy's totals promised: a page repeated an earlier one, the
 * pages went past the results Gupy announced, or the listing reached MAX_PAGES.
 */
export type CutReason = 'repeatedPage' | 'pastTotals' | 'pageCap'

export const CUT_REASONS: Record<CutReason, string> = {
  repeatedPage: 'a page repeated an earlier one',
  pastTotals: 'the pages went past the results Gupy announced',
  pageCap: `more than ${MAX_PAGES} pages`
}

export const noCuts = (): Record<CutReason, number> => ({ repeatedPage: 0, pastTotals: 0, pageCap: 0 })

/** Why an application from the API is not stored: it has no id to key it by, or its date would break the order. */
export type SkipReason = 'noId' | 'dateOutOfWindow'

export const SKIP_REASONS: Record<SkipReason, string> = {
  noId: 'without a usable id',
  dateOutOfWindow: 'dated before 2000 or more than a day ahead'
}

export const noSkips = (): Record<SkipReason, number> => ({ noId: 0, dateOutOfWindow: 0 })

/**
 * What a run against the API left out and why, for its summary line and `status`:
 * `2 applications skipped (1 without a usable id, 1 dated …); 1 listing cut short (…)`; '' when nothing.
 * Takes a stored summary as it is (older ones have neither count).
 */
export function leftOut (skipped: unknown, cut: unknown): string {
  const parts: string[] = []
  const describe = (counts: unknown, words: Record<string, string>, one: string, many: string) => {
    const found = Object.entries(words)
      .map(([key, text]) => [Number((counts as Record<string, unknown> | undefined)?.[key] ?? 0), text] as const)
      .filter(([n]) => Number.isFinite(n) && n > 0)
    const total = found.reduce((sum, [n]) => sum + n, 0)
    if (total > 0) parts.push(`${total} ${total === 1 ? one : many} (${found.map(([n, text]) => `${n} ${text}`).join(', ')})`)
  }
  describe(skipped, SKIP_REASONS, 'application skipped', 'applications skipped')
  describe(cut, CUT_REASONS as Record<CutReason, string>, 'listing cut short', 'listings cut short')
  return parts.join('; ')
}

/**
 * What a run waited for the request budget, for its summary and `status`: `waited 65 s for Gupy's
 * request budget (1 pause after a 429)`; '' under a second. Takes a stored summary's values as they are.
 */
export function budgetWaitText (ms: unknown, rateLimited: unknown): string {
  const waited = Number(ms ?? 0)
  const pauses = Number(rateLimited ?? 0)
  if (!(waited >= 1000) && !(pauses > 0)) return ''
  const time = waited >= 120_000 ? `${Math.round(waited / 60_000)} min` : `${Math.round(waited / 1000)} s`
  return `waited ${time} for Gupy's request budget${pauses > 0 ? ` (${pauses} ${pauses === 1 ? 'pause' : 'pauses'} after a 429)` : ''}`
}
