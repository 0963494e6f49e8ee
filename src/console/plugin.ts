/** GET /console (and its status.json): the operator console, behind HTTP Basic auth, under a strict CSP. */
import type { FastifyPluginAsync } from 'fastify'
import type { Counter } from 'prom-client'
import { basicCredentials, loginGuard } from '../credentials.js'
import { statusReport, type Outcomes } from '../ops/status-report.js'
import { CONTACTS_FEED } from '../rubeus/contract.js'
import { CSS, ICON, JS } from './assets.js'
import { consolePage } from './page.js'

export interface ConsoleOptions {
  user: string
  password: string
  eventFeeds: readonly string[]
  settleSeconds: number
  retentionDays: number
  timeZone: string
}

const BASE = '/console'

/** Nothing from elsewhere, no inline script or style: only the service's own files. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The webhook's answers since start, from its counter (rejected deliveries are counted nowhere else). */
async function outcomesSinceStart (counter: Counter<'event' | 'outcome'>): Promise<Outcomes> {
  const outcomes: Outcomes = { accepted: 0, duplicate: 0, ignored: 0, rejected: 0, unavailable: 0 }
  for (const { labels, value } of (await counter.get()).values) {
    const outcome = labels.outcome as keyof Outcomes | undefined
    if (outcome !== undefined && outcome in outcomes) outcomes[outcome] += value
  }
  return outcomes
}

const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (app, opts) => {
  const feeds = [CONTACTS_FEED, ...opts.eventFeeds]
  const startedAt = Date.now()

  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('cache-control', 'no-store')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
    done()
  })
  app.addHook('onRequest', loginGuard({
    route: 'console',
    check: basicCredentials(opts.user, opts.password),
    challenge: 'Basic realm="gupy-rubeus-bridge console", charset="UTF-8"',
    failures: app.metrics.authFailures
  }))

  async function report () {
    const now = Date.now()
    return statusReport(app.store, {
      feeds,
      settleMs: opts.settleSeconds * 1000,
      retentionDays: opts.retentionDays,
      now,
      service: {
        startedAt: new Date(startedAt).toISOString(),
        uptimeSeconds: Math.round((now - startedAt) / 1000),
        outcomesSinceStart: await outcomesSinceStart(app.metrics.deliveries)
      }
    })
  }

  /** GET /console — the page: readable without JavaScript, refreshed in place with it. */
  app.get(BASE, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(consolePage(await report(), { timeZone: opts.timeZone, base: BASE })))
  /** GET /console/status.json — the report `status --json` prints, with what only the running service knows. */
  app.get(`${BASE}/status.json`, async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(await report())))
  app.get(`${BASE}/console.css`, async (_request, reply) => reply.type('text/css; charset=utf-8').send(CSS))
  app.get(`${BASE}/console.js`, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(JS))
  app.get(`${BASE}/icon.svg`, async (_request, reply) => reply.type('image/svg+xml').send(ICON))
}

export default consolePlugin
