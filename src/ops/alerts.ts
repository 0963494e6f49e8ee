/**
 * Alerts to a chat channel (ALERT_WEBHOOK_URL): every ALERT_CHECK_SECONDS the service reads the
 * console's verdict and posts one message when a warning or problem has lasted ALERT_AFTER_MINUTES,
 * again every ALERT_REPEAT_HOURS while it lasts, and once when it clears. What was seen and said
 * is kept in the database, so a restart neither repeats an announcement nor loses a "cleared".
 * The post happens off the request path: a dead chat address delays nothing but its own message.
 */
import { hostname } from 'node:os'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { alertAgent, alertHost, postAlert, type Posted } from './alert-sender.js'
import type { StatusReport } from './status-report.js'
import { explain, plain } from './wording.js'

export interface AlertOptions {
  url: string
  checkSeconds: number
  afterMinutes: number
  repeatHours: number
  /** The bridge's name and the console's address, as messages give them. */
  name: string
  consoleUrl: string
  /** Tests: a clock, and a shorter wait between attempts. */
  now?: (() => number) | undefined
  retryDelayMs?: number | undefined
}

export interface Alerter {
  /** One check now (joins a check under way); never throws. */
  check: () => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when ALERT_WEBHOOK_URL is set. */
    alerter?: Alerter
  }
}

/** How a message names this bridge, and where its console is: from PUBLIC_URL, else the host name. */
export function alertIdentity (config: Pick<Config, 'PUBLIC_URL' | 'PORT'>): { name: string, consoleUrl: string } {
  if (config.PUBLIC_URL === undefined) {
    const host = hostname()
    return { name: host, consoleUrl: `http://${host}:${config.PORT}/console` }
  }
  const url = new URL(config.PUBLIC_URL) // origin and path only: never a user or password in it
  return { name: url.host, consoleUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}/console` }
}

/** A finding of the verdict as the alerts say it; `info` notes are not alerted. */
interface Current { severity: 'warning' | 'problem', text: string, next: string }

function currentFindings (report: StatusReport): Map<string, Current> {
  const found = new Map<string, Current>()
  for (const r of report.verdict.reasons) {
    if (r.severity === 'info') continue
    const { text, next } = explain(r, report.damaged === null ? report.feeds : [])
    found.set(r.feed === undefined ? r.code : `${r.code}:${r.feed}`, { severity: r.severity, text: plain(text), next: plain(next) })
  }
  return found
}

/** "12 min", "3 h", "2 dias". */
export function span (ms: number): string {
  const min = Math.max(1, Math.round(ms / 60_000))
  if (min < 90) return `${min} min`
  const h = Math.round(min / 60)
  return h < 36 ? `${h} h` : `${Math.round(h / 24)} dias`
}

export type Change =
  | { kind: 'new' | 'repeat', finding: string, since: number, current: Current }
  | { kind: 'cleared', finding: string, since: number, said: string }

/** The message for the changes of one check: one paragraph per finding, then the console's address. */
export function alertMessage (changes: readonly Change[], opts: { name: string, consoleUrl: string, now: number }): string {
  const icon = { problem: '🔴', warning: '⚠️' }
  const parts = changes.map((c) => {
    if (c.kind === 'cleared') return `✅ ${opts.name}: resolvido depois de ${span(opts.now - c.since)}: ${c.said}`
    const { severity, text, next } = c.current
    const head = `${icon[severity]} ${opts.name}: ${c.kind === 'repeat' ? `continua há ${span(opts.now - c.since)}: ` : ''}${text}`
    return next === '' ? head : `${head}\nPróximo passo: ${next}`
  })
  return `${parts.join('\n\n')}\n\nConsole: ${opts.consoleUrl}`
}

export default fp<AlertOptions>(async (app, opts) => {
  const { alerts } = app.store
  const clock = opts.now ?? Date.now
  const afterMs = opts.afterMinutes * 60_000
  const repeatMs = opts.repeatHours * 3_600_000
  const host = alertHost(opts.url)
  const agent = alertAgent()
  const aborter = new AbortController()

  /** What changed since the last message, noting new findings and forgetting those gone unsaid. */
  function changesAt (now: number, report: StatusReport): Change[] {
    const current = currentFindings(report)
    const known = new Map(alerts.all().map((f) => [f.finding, f]))
    const found = [...current.keys()].filter((f) => !known.has(f))
    const goneUnsaid = [...known.values()].filter((f) => !current.has(f.finding) && f.announcedAt === undefined).map((f) => f.finding)
    if (found.length > 0 || goneUnsaid.length > 0) alerts.update(found, goneUnsaid, now) // most checks write nothing
    const changes: Change[] = []
    for (const [finding, c] of current) {
      const { firstSeen = now, announcedAt } = known.get(finding) ?? {}
      if (announcedAt === undefined ? now - firstSeen >= afterMs : now - announcedAt >= repeatMs) {
        changes.push({ kind: announcedAt === undefined ? 'new' : 'repeat', finding, since: firstSeen, current: c })
      }
    }
    for (const f of known.values()) {
      if (!current.has(f.finding) && f.announcedAt !== undefined) changes.push({ kind: 'cleared', finding: f.finding, since: f.firstSeen, said: f.said ?? f.finding })
    }
    return changes
  }

  async function run (): Promise<void> {
    const now = clock()
    let changes: Change[]
    try {
      changes = changesAt(now, await app.serviceStatus(now))
    } catch (err) {
      app.log.warn({ err }, 'alert check failed; it runs again at the next check')
      return
    }
    if (changes.length === 0) return
    const findings = changes.map((c) => ({ finding: c.finding, change: c.kind }))
    const posted: Posted = await postAlert(opts.url, alertMessage(changes, { name: opts.name, consoleUrl: opts.consoleUrl, now }), {
      dispatcher: agent, signal: aborter.signal, retryDelayMs: opts.retryDelayMs
    })
    if (!posted.ok && aborter.signal.aborted) return // stopped by closing: the next start says it
    app.metrics.alertsSent.inc({ result: posted.ok ? 'sent' : 'failed' })
    if (!posted.ok) {
      app.log.warn({ host, reason: posted.reason, attempts: posted.attempts, findings }, 'alert not delivered; it is tried again at the next check')
      return
    }
    app.log.info({ host, findings }, 'alert sent')
    try {
      alerts.said(
        changes.flatMap((c) => c.kind === 'cleared' ? [] : [{ finding: c.finding, said: c.current.text }]),
        changes.flatMap((c) => c.kind === 'cleared' ? [c.finding] : []),
        now)
    } catch (err) {
      app.log.warn({ err, findings }, 'alert sent but not recorded; it may be said again')
    }
  }

  let running: Promise<void> | undefined
  const alerter: Alerter = {
    check: () => (running ??= run().finally(() => { running = undefined }))
  }
  app.decorate('alerter', alerter)

  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    alerter.check().catch(() => {}) // a finding that cleared while the service was down is said at once
    timer = setInterval(() => { alerter.check().catch(() => {}) }, opts.checkSeconds * 1000).unref()
  })
  // Before the store closes its database.
  app.addHook('onClose', async () => {
    clearInterval(timer)
    aborter.abort() // a post under way, or its wait before a retry, stops now
    await running
    await agent.close()
  })
}, { name: 'alerts', dependencies: ['store', 'metrics', 'service-status'] })
