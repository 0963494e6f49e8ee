/** The facts of the status report, read from the store: what the verdict judges and the console and `status` show. */
import { readFileSync } from 'node:fs'
import { budgetWaitText, leftOut } from '../vocabulary/gupy-api.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import { readBudget } from '../store/gupy-budget.js'
import type { DeliveryState } from '../store/inbox.js'
import type { Purged } from '../store/retention.js'
import type { Repositories } from '../store/repositories.js'
import type { DeliveryMode } from '../vocabulary/rubeus-api.js'

/** Hours of deliveries the report (and the console's chart) covers. */
export const CHART_HOURS = 48

/** The service's version, from its package.json (beside `src/` and `dist/`). */
export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version

/**
 * Gupy's side beyond the webhooks: the subscriptions as the watchdog last saw them, and the last
 * reconciliation. `null` means not configured (no watchdog or reconciliation in this build, or no
 * API token): the console says so.
 */
export interface GupyWatch {
  subscriptions: Array<{ event: string, ok: boolean, problem: string | null }> | null
  lastWatchdogCheck: { at: string, ok: boolean, problems: string[] } | null
  lastReconciliation: { at: string, ok: boolean, summary: string } | null
}

/**
 * The request budget every process on the database shares: the pause a 429 set (in force when
 * `pausedUntil` is ahead of the report's time), the last 429 and how many there were.
 */
export interface BudgetReport { pausedUntil: string | null, pauseReason: string | null, lastPauseAt: string | null, pauses: number }

/** The last run of one kind of work against Gupy's API (watchdog, reconciliation, import), as stored. */
export interface RunReport { at: string, ok: boolean, seconds: number, summary: Record<string, unknown>, error: string | null }

interface WatchedSubscription { action: string, state: string, repair: string, up: boolean }

/** Gupy's side from the last runs the store keeps; nothing stored means not configured (or not run yet). */
function gupyFacts ({ gupy, db }: Repositories, now: number): GupyWatch & Record<'watch' | 'reconcile' | 'import', RunReport | null> & { budget: BudgetReport | null } {
  const runs = gupy.lastRuns()
  const report = (kind: 'watch' | 'reconcile' | 'import'): RunReport | null => {
    const r = runs[kind]
    return r === undefined
      ? null
      : { at: iso(r.finishedAt)!, ok: r.ok, seconds: Math.round((r.finishedAt - r.startedAt) / 100) / 10, summary: r.summary, error: r.error ?? null }
  }
  const watch = report('watch')
  const reconcile = report('reconcile')
  const seen = watch?.ok === true && Array.isArray(watch.summary.subscriptions) ? watch.summary.subscriptions as WatchedSubscription[] : null
  const subscriptions = seen?.map((x) => ({ event: x.action, ok: x.up, problem: x.up ? null : x.state })) ?? null
  const problems = watch === null ? [] : watch.ok ? (subscriptions ?? []).filter((x) => !x.ok).map((x) => `${x.event}: ${x.problem ?? '?'}`) : [watch.error ?? 'failed']
  const counts = reconcile?.summary as { jobs?: number, applications?: number, calls?: number, outcomes?: Record<string, number> } | undefined
  const found = Object.values(counts?.outcomes ?? {}).reduce((a, b) => a + b, 0)
  const left = reconcile === null
    ? ''
    : [leftOut(reconcile.summary.skipped, reconcile.summary.cut), budgetWaitText(reconcile.summary.budgetWaitMs, reconcile.summary.rateLimited)].filter((x) => x !== '').join('; ')
  const budget = readBudget(db)
  return {
    subscriptions,
    lastWatchdogCheck: watch === null ? null : { at: watch.at, ok: problems.length === 0, problems },
    lastReconciliation: reconcile === null
      ? null
      : {
          at: reconcile.at,
          ok: reconcile.ok,
          summary: reconcile.ok
            ? `${counts?.jobs ?? 0} jobs asked, ${counts?.applications ?? 0} applications seen, ${found} outcomes found, ${counts?.calls ?? 0} API calls` +
              (left === '' ? '' : `; ${left}`)
            : `failed: ${reconcile.error ?? 'unknown reason'}`
        },
    watch,
    reconcile,
    import: report('import'),
    budget: budget === undefined
      ? null
      : { pausedUntil: budget.pausedUntil > now ? iso(budget.pausedUntil) : null, pauseReason: budget.pausedUntil > now ? budget.pauseReason ?? null : null, lastPauseAt: iso(budget.lastPauseAt), pauses: budget.pauses }
  }
}

/** Deliveries by outcome as the running service answered them, rejected ones included (those are never stored). */
export type Outcomes = Record<'accepted' | 'duplicate' | 'ignored' | 'rejected' | 'unavailable', number>

/** What only the running service knows; `status` on the command line has no service to ask. */
export interface ServiceInfo {
  startedAt: string
  uptimeSeconds: number
  outcomesSinceStart: Outcomes
}

export interface ReportOptions {
  /** Every feed: the contacts feed and the mapping's event feeds. */
  feeds: readonly string[]
  settleMs: number
  retentionDays: number
  now: number
  service?: ServiceInfo
  /** How records reach Rubeus (RUBEUS_DELIVERY); pull when not said. */
  delivery?: DeliveryMode
}

export const iso = (ms: number | undefined | null) => ms === undefined || ms === null ? null : new Date(ms).toISOString()
const rewindCommand = (feed: string, batch: number) => `gupy-rubeus-bridge rewind --feed ${feed} --batch ${batch}`
const retentionRun = (r: Purged & { at: number, days: number }) =>
  ({ at: iso(r.at)!, days: r.days, payloads: r.payloads, records: r.records, batches: r.batches, contacts: r.contacts })

/**
 * Push delivery's queue (SPEC §4b's names first, then what `status` and the console add): no personal
 * data, since Rubeus's reasons are stored masked. Records held behind a parked record of their
 * contact are no backlog of the pusher's; they wait for `retry-parked` with it.
 */
function pushFacts ({ push }: Repositories, feeds: readonly string[]) {
  const counts = push.counts()
  const moving = counts.parked === 0 ? { pending: counts.pending, oldestAt: counts.oldestPendingAt } : push.moving()
  return {
    pending: counts.pending,
    retrying: counts.retrying,
    parked: counts.parked,
    lastSuccessAt: iso(counts.lastSuccessAt),
    oldestPendingAt: iso(counts.oldestPendingAt),
    /** The oldest parked records (at most 50; `parked` and `feeds` count them all). */
    parkedRecords: push.parked().map((p) => ({ feed: p.feed, reason: p.reason, since: iso(p.since)! })),
    /** Why the last failed attempt of a record being retried failed (network, time-out, 408, 429, 5xx). */
    lastRetryReason: counts.lastRetryReason ?? null,
    /** Pending records that wait behind a parked record of their contact. */
    waitingBehindParked: counts.pending - moving.pending,
    /** When the oldest pending record not waiting behind a parked one was queued: the verdict's backlog. */
    backlogSince: iso(moving.oldestAt),
    feeds: feeds.map((feed) => ({ feed, pending: counts.feeds[feed]?.pending ?? 0, parked: counts.feeds[feed]?.parked ?? 0 }))
  }
}

export type PushFacts = ReturnType<typeof pushFacts>

function leftInPushQueue ({ push }: Repositories): number {
  const { pending, parked } = push.counts()
  return pending + parked
}

/** Parked records by feed, then by reason (each with how many and since when): how `status` and the console list them. */
export function parkedByFeed (push: PushFacts) {
  return push.feeds.filter((f) => f.parked > 0).map((f) => {
    const reasons = new Map<string, { reason: string, count: number, since: string }>()
    for (const p of push.parkedRecords.filter((r) => r.feed === f.feed)) {
      const known = reasons.get(p.reason)
      if (known === undefined) reasons.set(p.reason, { reason: p.reason, count: 1, since: p.since })
      else known.count++
    }
    const listed = [...reasons.values()].reduce((n, r) => n + r.count, 0)
    return { feed: f.feed, count: f.parked, reasons: [...reasons.values()], unlisted: f.parked - listed, retry: `gupy-rubeus-bridge retry-parked --feed ${f.feed}` }
  })
}

export function reportFacts (repositories: Repositories, opts: ReportOptions) {
  const { db, inbox, feeds, retention } = repositories
  const { now } = opts
  const delivery = opts.delivery ?? 'pull'
  // A pushed record goes as soon as it is mapped: no settle window.
  const settleMs = delivery === 'push' ? 0 : opts.settleMs
  const counts = inbox.counts()
  const pageCount = db.pragma('page_count', { simple: true }) as number
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const lastRun = retention.lastRuns(1)[0]
  return {
    generatedAt: iso(now)!,
    version: VERSION,
    databaseBytes: pageCount * pageSize,
    deliveries: counts.byState as Record<DeliveryState, number>,
    lastReceivedAt: iso(counts.lastReceivedAt),
    installedAt: iso(counts.installedAt),
    deliveriesPerHour: inbox.perHour(now, CHART_HOURS).map((h) => ({ hour: iso(h.hour)!, count: h.count })),
    failures: inbox.failures().map((f) => ({ ...f, command: 'gupy-rubeus-bridge reprocess' })),
    held: feeds.heldReasons(),
    feeds: opts.feeds.map((feed) => {
      const batches = feeds.lastBatches(feed, 5).map((b) => ({
        id: b.id, records: b.count, at: iso(b.cut_at)!, outcome: b.outcome, caller: b.caller, rewind: rewindCommand(feed, b.id)
      }))
      const poll = feeds.lastPoll(feed)
      return {
        feed,
        path: feed === CONTACTS_FEED ? '/rubeus/contatos' : `/rubeus/eventos/${feed}`,
        ...feeds.counts(feed, now, settleMs),
        lastPoll: poll === undefined ? null : { at: iso(poll.at)!, caller: poll.caller },
        lastBatch: batches[0] ?? null,
        batches
      }
    }),
    rubeus: {
      delivery,
      push: delivery === 'push' ? pushFacts(repositories, opts.feeds) : null,
      // After a switch back to pull: records handed to the pusher and never pushed, which the feeds do not serve.
      leftInPushQueue: delivery === 'pull' ? leftInPushQueue(repositories) : 0
    },
    retention: {
      days: opts.retentionDays,
      lastRun: lastRun === undefined ? null : retentionRun(lastRun),
      lastRemovals: retention.lastRemovals(5).map(retentionRun)
    },
    gupy: gupyFacts(repositories, now),
    service: opts.service ?? null
  }
}

export type ReportFacts = ReturnType<typeof reportFacts>
