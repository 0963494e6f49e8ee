/** Prometheus metrics: one registry per app instance, served at GET /metrics. */
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { isApplicationEvent } from '../vocabulary/gupy-events.js'

function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return {
    registry,
    deliveries: new Counter({
      name: 'bridge_webhook_deliveries_total',
      help: 'Gupy deliveries by event and outcome (accepted, duplicate, ignored, rejected, unavailable)',
      labelNames: ['event', 'outcome'] as const,
      registers: [registry]
    }),
    webhookDuration: new Histogram({
      name: 'bridge_webhook_duration_seconds',
      help: 'Time from receiving a Gupy delivery to answering it, by status code',
      labelNames: ['status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry]
    }),
    commitSize: new Histogram({
      name: 'bridge_inbox_commit_size',
      help: 'Deliveries committed per SQLite transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry]
    }),
    commitDuration: new Histogram({
      name: 'bridge_inbox_commit_seconds',
      help: 'Duration of one inbox transaction, fsync included',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry]
    }),
    authFailures: new Counter({
      name: 'bridge_auth_failures_total',
      help: 'Requests refused for wrong or missing credentials, by route (console, feeds, webhook)',
      labelNames: ['route'] as const,
      registers: [registry]
    }),
    mappingFailures: new Counter({
      name: 'bridge_mapping_failures_total',
      help: 'Deliveries whose mapping to Rubeus records failed, by reason (see the status command)',
      labelNames: ['reason'] as const,
      registers: [registry]
    }),
    feedBatches: new Counter({
      name: 'bridge_feed_batches_total',
      help: 'Feed batches by feed and outcome (served: written out, cursor moved; aborted: will be served again)',
      labelNames: ['feed', 'outcome'] as const,
      registers: [registry]
    }),
    retentionRemoved: new Counter({
      name: 'bridge_retention_removed_total',
      help: 'What retention removed: payloads (raw bodies), records (served feed records), batches (log entries), contacts',
      labelNames: ['kind'] as const,
      registers: [registry]
    }),
    feedRecords: new Counter({
      name: 'bridge_feed_records_served_total',
      help: 'Records written out to Rubeus, by feed',
      labelNames: ['feed'] as const,
      registers: [registry]
    }),
    lastDelivery: new Gauge({
      name: 'bridge_last_delivery_timestamp_seconds',
      help: 'When the last webhook from Gupy was stored (Unix time); silence for days means the subscriptions are lost',
      registers: [registry]
    }),
    subscriptionUp: new Gauge({
      name: 'bridge_gupy_subscription_up',
      help: 'Whether the Gupy subscription for the event exists, is active and points here (after any repair), per the last watchdog check',
      labelNames: ['event'] as const,
      registers: [registry]
    }),
    gupyRuns: new Counter({
      name: 'bridge_gupy_runs_total',
      help: 'Runs of work against Gupy\'s API by kind (watch, reconcile) and outcome (ok, failed)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry]
    }),
    gupyRequests: new Counter({
      name: 'bridge_gupy_api_requests_total',
      help: 'HTTP requests made to Gupy\'s API by the service (retries included)',
      registers: [registry]
    }),
    gupyBudgetWait: new Counter({
      name: 'bridge_gupy_budget_wait_seconds_total',
      help: 'Seconds the service\'s requests to Gupy\'s API waited for the request budget every process on the database shares (slots and pauses after a 429)',
      registers: [registry]
    }),
    gupyRateLimited: new Counter({
      name: 'bridge_gupy_rate_limited_total',
      help: 'Answers 429 (Gupy\'s rate limit) the service got; each pauses every process\'s requests to Gupy',
      registers: [registry]
    }),
    alertsSent: new Counter({
      name: 'bridge_alerts_sent_total',
      help: 'Alert messages posted to ALERT_WEBHOOK_URL, by result (sent: accepted with a 2xx; failed: refused or unreachable after its retries)',
      labelNames: ['result'] as const,
      registers: [registry]
    }),
    outcomesFound: new Counter({
      name: 'bridge_reconciliation_outcomes_total',
      help: 'Applications found reproved or withdrawn by reconciliation and stored as deliveries, by status',
      labelNames: ['status'] as const,
      registers: [registry]
    })
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** Keeps label cardinality bounded: event names come from the caller. */
export function eventLabel (event: string | undefined): string {
  if (event === undefined) return 'unknown'
  return isApplicationEvent(event) ? event : 'other'
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export default fp(async (app) => {
  app.decorate('metrics', createMetrics())

  /** GET /metrics — Prometheus text format. */
  app.get('/metrics', async (_request, reply) => {
    reply.type(app.metrics.registry.contentType)
    return app.metrics.registry.metrics()
  })
}, { name: 'metrics' })
