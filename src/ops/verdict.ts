/** Is everything flowing? The verdict over a status report: each reason with its severity and subject. */
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import type { ReportFacts } from './report-facts.js'

export type Severity = 'problem' | 'warning' | 'info'

export interface Reason {
  severity: Severity
  /** Stable name of the finding; the console words it (and its next step) from this. */
  code: string
  /** Said in English, for the command line and the JSON. */
  message: string
  feed?: string
  count?: number
  /** What the finding is about in the words of whoever said it (Rubeus's reason, personal data masked). */
  detail?: string
}

export interface Verdict {
  status: 'ok' | 'warning' | 'problem'
  reasons: Reason[]
}

/** Gupy may go quiet on a weekend night; a day without any delivery is worth a look. */
const QUIET_MS = 24 * 3_600_000
/** A new install waits for its first delivery while its subscriptions are set up: normal for an hour. */
const NEW_INSTALL_MS = 3_600_000
/** Rubeus polls every few minutes when its integration runs. */
const POLL_EXPECTED_MS = 3_600_000
/** Mapping trails ingest by milliseconds; deliveries still unmapped this long after the last one mean it stopped. */
const MAPPING_STALL_MS = 10 * 60_000
/** A pushed record reaches Rubeus within seconds; records waiting this long mean Rubeus fails or pushing stopped. */
export const PUSH_BACKLOG_MINUTES = 15

export function judge (report: ReportFacts, now: number): Verdict {
  const reasons: Reason[] = []
  const add = (severity: Severity, code: string, message: string, extra: Partial<Reason> = {}) =>
    reasons.push({ severity, code, message, ...extra })
  const age = (at: string | null) => at === null ? Infinity : now - Date.parse(at)

  const last = age(report.lastReceivedAt)
  if (last === Infinity) add(age(report.installedAt) < NEW_INSTALL_MS ? 'info' : 'warning', 'no-deliveries', 'no delivery from Gupy has been received yet')
  else if (last > QUIET_MS) add('warning', 'deliveries-quiet', 'no delivery from Gupy for more than a day')
  if (report.deliveries.received > 0 && last > MAPPING_STALL_MS) {
    add('problem', 'mapping-stalled', 'stored deliveries are not being mapped', { count: report.deliveries.received })
  }
  const failed = report.failures.reduce((n, f) => n + f.count, 0)
  if (failed > 0) add('warning', 'mapping-failures', 'some deliveries could not be mapped', { count: failed })
  const held = report.held.reduce((n, h) => n + h.count, 0)
  if (held > 0) add('warning', 'contacts-held', 'contacts held back for missing data', { count: held })

  const { push } = report.rubeus
  // In push mode nobody polls the feeds: what they release goes to the push queue at once.
  for (const f of push === null ? report.feeds : []) {
    const polled = age(f.lastPoll?.at ?? null)
    if (f.released > 0 && polled > POLL_EXPECTED_MS) {
      add('problem', 'feed-not-polled', 'records are waiting and Rubeus has not polled this feed for over an hour', { feed: f.feed, count: f.released })
    } else if (polled === Infinity) {
      add('info', 'feed-never-polled', 'Rubeus has never polled this feed', { feed: f.feed })
    }
    if (f.feed !== CONTACTS_FEED && f.waitingForContact > 0) {
      add('warning', 'waiting-for-contact', 'events wait for their contact to be served on the contacts feed', { feed: f.feed, count: f.waitingForContact })
    }
    if (f.lastBatch?.outcome === 'aborted') add('warning', 'batch-aborted', 'the last batch did not reach Rubeus whole; it is served again', { feed: f.feed })
  }
  if (report.rubeus.leftInPushQueue > 0) {
    add('warning', 'push-queue-left', 'records handed to the pusher before the switch to pull delivery were never pushed, and the feeds do not serve them',
      { count: report.rubeus.leftInPushQueue })
  }
  if (push !== null) {
    for (const f of push.feeds) {
      if (f.parked === 0) continue
      const reason = push.parkedRecords.find((p) => p.feed === f.feed)?.reason
      add('problem', 'push-parked', 'Rubeus refused records: they are parked, with their contact\'s later records, until retry-parked',
        { feed: f.feed, count: f.parked, ...(reason === undefined ? {} : { detail: reason }) })
    }
    if (push.backlogSince !== null && age(push.backlogSince) > PUSH_BACKLOG_MINUTES * 60_000) {
      add('problem', 'push-backlog', `records have waited more than ${PUSH_BACKLOG_MINUTES} minutes to be pushed to Rubeus`,
        { count: push.pending - push.waitingBehindParked, ...(push.lastRetryReason === null ? {} : { detail: push.lastRetryReason }) })
    }
  }

  const { gupy } = report
  if (gupy.lastWatchdogCheck === null) add('info', 'watchdog-not-configured', 'Gupy\'s subscriptions are not checked automatically')
  else if (!gupy.lastWatchdogCheck.ok) add('problem', 'subscriptions-broken', 'the last check found a problem with Gupy\'s subscriptions')
  if (gupy.lastReconciliation !== null && !gupy.lastReconciliation.ok) add('warning', 'reconciliation-failed', 'the last reconciliation with Gupy\'s API failed')
  const rejected = report.service?.outcomesSinceStart.rejected ?? 0
  if (rejected > 0) add('info', 'deliveries-rejected', 'deliveries were refused since the service started', { count: rejected })

  const status = reasons.some((r) => r.severity === 'problem') ? 'problem' : reasons.some((r) => r.severity === 'warning') ? 'warning' : 'ok'
  return { status, reasons }
}

/** A damaged database file: nothing else is read from it, so this is the one finding. */
export function damagedVerdict (code: string): Verdict {
  return {
    status: 'problem',
    reasons: [{
      severity: 'problem',
      code: 'database-damaged',
      message: `the database file is damaged (${code}): nothing is read from it nor written to it; stop the service and restore a backup (README: Disaster recovery)`
    }]
  }
}
