/** The status report as the running service knows it: what the console shows and the alerts follow. */
import fp from 'fastify-plugin'
import type { Counter } from 'prom-client'
import type { DeliveryMode } from '../vocabulary/rubeus-api.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import type { Outcomes } from './report-facts.js'
import { statusReport, type StatusReport } from './status-report.js'

export interface ServiceStatusOptions {
  eventFeeds: readonly string[]
  settleSeconds: number
  retentionDays: number
  /** RUBEUS_DELIVERY: the report shows the push queue instead of the feeds' polls. */
  delivery: DeliveryMode
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The report (and its verdict) at `now`, with what only the running service knows. */
    serviceStatus: (now?: number) => Promise<StatusReport>
  }
}

/** The webhook's answers since start, from its counter (rejected deliveries are counted nowhere else). */
async function outcomesSinceStart (counter: Counter<'event' | 'outcome'>): Promise<Outcomes> {
  const outcomes: Outcomes = { accepted: 0, duplicate: 0, ignored: 0, rejected: 0, unavailable: 0 }
  for (const { labels, value } of (await counter.get()).values) {
    const outcome = labels.outcome as keyof Outcomes | undefined
    if (outcome !== undefined && outcome in outcomes) outcomes[outcome] += value
  }
  return outcomes
}

export default fp<ServiceStatusOptions>(async (app, opts) => {
  const feeds = [CONTACTS_FEED, ...opts.eventFeeds]
  const startedAt = Date.now()
  app.decorate('serviceStatus', async (now = Date.now()) => statusReport(app.store, {
    feeds,
    settleMs: opts.settleSeconds * 1000,
    retentionDays: opts.retentionDays,
    delivery: opts.delivery,
    now,
    service: {
      startedAt: new Date(startedAt).toISOString(),
      uptimeSeconds: Math.max(0, Math.round((now - startedAt) / 1000)),
      outcomesSinceStart: await outcomesSinceStart(app.metrics.deliveries)
    }
  }))
}, { name: 'service-status', dependencies: ['store', 'metrics'] })
