/** `status`: the verdict, deliveries by state, failures by reason, and per feed what was served and what waits. */
import { loadMapping } from '../mapping/mapping-file.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import { budgetWaitText, leftOut } from '../vocabulary/gupy-api.js'
import { parkedByFeed, type PushFacts, type RunReport } from '../ops/report-facts.js'
import { damagedReport, statusReport } from '../ops/status-report.js'
import { createRepositories } from '../store/repositories.js'
import { isDamage, sqliteCode } from '../store/sqlite.js'
import { options, withDatabase, type Command } from './command.js'

function ago (when: Date): string {
  const s = Math.max(0, Math.round((Date.now() - when.getTime()) / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  if (s < 172800) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86400)} days`
}

/** One line about the last run of a kind of work against Gupy's API. */
function gupyLine (run: RunReport | null): string {
  if (run === null) return 'never run'
  const when = `${run.at} (${ago(new Date(run.at))} ago)`
  if (!run.ok) return `FAILED ${when}: ${run.error ?? 'unknown reason'}`
  const s = run.summary
  if (Array.isArray(s.subscriptions)) {
    return `checked ${when}: ` + (s.subscriptions as Array<{ action: string, state: string, repair: string, up: boolean }>)
      .map((x) => `${x.action} ${x.state}${x.repair !== 'none' ? ` (repair: ${x.repair})` : ''}${x.up ? '' : ' DOWN'}`).join(', ')
  }
  const also = [leftOut(s.skipped, s.cut), budgetWaitText(s.budgetWaitMs, s.rateLimited)].map((x) => x === '' ? '' : `; ${x}`).join('')
  if (typeof s.outcomes === 'object' && s.outcomes !== null) {
    const o = s.outcomes as Record<string, number>
    return `ran ${when}: ${String(s.jobs)} jobs asked, ${String(s.applications)} applications seen, ${(o.reproved ?? 0) + (o.give_up ?? 0)} outcomes found, ${String(s.calls)} API calls${also}`
  }
  return `ran ${when}: ${String(s.jobs)} jobs, ${String(s.applications)} applications, ${String(s.added)} added${also}`
}

/** When something happened, and how long ago; or never. */
const at = (iso: string | null) => iso === null ? 'never' : `${iso} (${ago(new Date(iso))} ago)`

/** Push delivery's queue: what waits, what is retried and why, what Rubeus refused and why, and what to do. */
function pushLines (push: PushFacts): string[] {
  const lines = ['delivery: push to Rubeus\'s CRM API']
  const behind = push.waitingBehindParked === 0 ? '' : `, ${push.waitingBehindParked} waiting behind a parked record of their contact`
  lines.push(`  pending: ${push.pending}${push.pending === 0 ? '' : `, oldest queued ${at(push.oldestPendingAt)}`}${behind}`)
  lines.push(`  retrying: ${push.retrying}${push.lastRetryReason === null ? '' : `; last failure: ${push.lastRetryReason}`}`)
  lines.push(`  last success: ${at(push.lastSuccessAt)}`)
  const parked = parkedByFeed(push)
  lines.push(`  parked (refused by Rubeus): ${push.parked}`)
  for (const f of parked) {
    lines.push(`    ${f.feed.padEnd(18)} ${f.count}`)
    for (const r of f.reasons) lines.push(`      ${String(r.count).padStart(6)}  since ${at(r.since)}: ${r.reason}`)
    if (f.unlisted > 0) lines.push(`      ${String(f.unlisted).padStart(6)}  more, newer`)
  }
  if (parked.length > 0) {
    lines.push('  next: fix the cause (`gupy-rubeus-bridge check-rubeus` checks the address, origem, token, event types and legal basis;',
      '  `gupy-rubeus-bridge setup-rubeus` creates missing event types), then:')
    for (const f of parked) lines.push(`    ${f.retry}`)
  }
  if (push.retrying > 0) lines.push('  next: records are being retried: is Rubeus answering? `gupy-rubeus-bridge check-rubeus` (nothing is lost meanwhile)')
  return lines
}

export const status: Command = {
  summary: 'deliveries by state, failed mappings with reasons, and per feed: served, waiting, last batch (push delivery: the push queue)',
  usage: 'gupy-rubeus-bridge status [--json]',
  async run ({ config, args, out }) {
    const { values } = options(args, { json: { type: 'boolean', default: false } })
    const feeds = [CONTACTS_FEED, ...loadMapping(config.MAPPING_FILE).feeds.map((f) => f.name)]
    const now = Date.now()
    const report = await withDatabase(config, (db) => {
      let repositories
      try {
        repositories = createRepositories(db) // reads the schema: damage may show here already
      } catch (err) {
        if (!isDamage(err)) throw err
        return damagedReport(sqliteCode(err) ?? 'SQLITE_CORRUPT', { now })
      }
      return statusReport(repositories, { feeds, settleMs: config.FEED_SETTLE_SECONDS * 1000, retentionDays: config.RETENTION_DAYS, delivery: config.RUBEUS_DELIVERY, now })
    }, true)
    // A damaged file could not be read: exit 1, as for a check that found a problem.
    const code = report.damaged === null ? 0 : 1
    if (values.json) {
      out(JSON.stringify(report) + '\n')
      return code
    }
    out(`verdict: ${report.verdict.status}\n`)
    for (const r of report.verdict.reasons) out(`  ${r.severity.padEnd(7)} ${r.feed === undefined ? '' : `${r.feed}: `}${r.message}${r.count === undefined ? '' : ` (${r.count})`}${r.detail === undefined ? '' : `: ${r.detail}`}\n`)
    out(`database: ${config.DATABASE_PATH}\n`)
    if (report.damaged !== null) return code
    const total = Object.values(report.deliveries).reduce((a, b) => a + b, 0)
    out(`deliveries: ${total}\n`)
    for (const [state, n] of Object.entries(report.deliveries)) out(`  ${state.padEnd(9)} ${n}\n`)
    const last = report.lastReceivedAt === null ? undefined : new Date(report.lastReceivedAt)
    out(`last delivery received: ${last === undefined ? 'never' : `${last.toISOString()} (${ago(last)} ago)`}\n`)
    if (report.failures.length > 0) {
      out('failed mappings (fix, then `reprocess`):\n')
      for (const f of report.failures) out(`  ${String(f.count).padStart(6)}  ${f.reason}\n`)
    }
    out(`Gupy subscriptions (watchdog): ${gupyLine(report.gupy.watch)}\n`)
    out(`reconciliation: ${gupyLine(report.gupy.reconcile)}\n`)
    if (report.gupy.import !== null) out(`last import: ${gupyLine(report.gupy.import)}\n`)
    const budget = report.gupy.budget
    if (budget !== null) {
      const state = budget.pausedUntil === null ? 'not paused' : `PAUSED until ${budget.pausedUntil} after ${budget.pauseReason ?? 'a 429'}`
      const last = budget.lastPauseAt === null ? 'no 429 so far' : `last 429 ${ago(new Date(budget.lastPauseAt))} ago, ${budget.pauses} in all`
      out(`Gupy request budget (${config.GUPY_API_REQUESTS_PER_MINUTE} a minute for every process on this database): ${state}; ${last}\n`)
    }
    if (report.rubeus.push !== null) {
      out(pushLines(report.rubeus.push).map((l) => `${l}\n`).join(''))
      return 0
    }
    out('feeds:\n')
    for (const f of report.feeds) {
      const waiting = [`${f.released} released`, `${f.settling} settling`]
      if (f.feed === CONTACTS_FEED) waiting.push(`${f.held} held (no name, or no phone nor e-mail)`)
      else waiting.push(`${f.waitingForContact} waiting for their contact`)
      const batch = f.lastBatch === null ? 'no batch yet' : `last batch ${f.lastBatch.id}: ${f.lastBatch.records} records, ${f.lastBatch.outcome}, ${ago(new Date(f.lastBatch.at))} ago`
      out(`  ${f.feed.padEnd(18)} served ${f.served}; waiting: ${waiting.join(', ')}; ${batch}\n`)
    }
    return 0
  }
}
