/**
 * Gupy's API as the bridge uses it, in words several layers share: the default pace and deadline of
 * a call, and what a run against the API may leave out (skipped applications, listings cut short).
 */

/** Requests per minute by default: under Gupy's ~900 per minute per IP, with room for another tool. */
export const REQUESTS_PER_MINUTE = 800
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
