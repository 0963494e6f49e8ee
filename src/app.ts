/** buildApp: the whole HTTP service, assembled from its plugins; no I/O at import time. */
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from '@fastify/type-provider-zod'
import type { Config } from './config.js'
import background from './background/plugin.js'
import consolePlugin from './console/plugin.js'
import { DatabaseUnavailableError, NotFoundError, ShuttingDownError } from './errors.js'
import { wantedSubscription } from './gupy/subscriptions.js'
import webhook from './gupy/webhook.js'
import { createLogger } from './logger.js'
import { loadMapping, type Mapping } from './mapping/mapping-file.js'
import alerts, { alertIdentity, type AlertOptions } from './ops/alerts.js'
import health from './ops/health.js'
import metrics from './ops/metrics.js'
import serviceStatus from './ops/service-status.js'
import feeds from './rubeus/feeds.js'
import { createOutbound } from './rubeus/outbound.js'
import pusher, { type PusherOptions } from './rubeus/pusher.js'
import store from './store/plugin.js'
import { isDamage, isStorageError, sqliteCode } from './store/sqlite.js'

export interface AppOptions {
  config: Config
  /** A pino logger; tests pass one writing to a sink. Defaults to JSON on stdout. */
  logger?: FastifyBaseLogger
  /** The resolved mapping; defaults to `MAPPING_FILE` (or the built-in mapping). */
  mapping?: Mapping
  /** Tests: the alerts' clock and wait between attempts. */
  alerts?: Pick<AlertOptions, 'now' | 'retryDelayMs'>
  /** Tests: the pusher's backoff between attempts. */
  push?: Pick<PusherOptions, 'backoff'>
}

/** Gupy retries on its own schedule; this only tells well-behaved clients when to come back. */
const RETRY_AFTER_SECONDS = '30'

const CLEAR_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body is empty: expected a JSON object',
  FST_ERR_CTP_INVALID_JSON_BODY: 'body is not valid JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body is larger than the configured limit'
}

/** TRUST_PROXY as a hop count: trust that many proxies in front of the service. */
const hops = (n: number) => (_address: string, hop: number) => hop < n

/** Reconciliation and the watchdog need a Gupy API token; the watchdog also PUBLIC_URL and a webhook secret. */
function gupyWork (config: Config) {
  if (config.GUPY_API_TOKEN === undefined) return undefined
  const secret = config.GUPY_WEBHOOK_SECRETS[0]
  return {
    baseUrl: config.GUPY_API_URL,
    token: config.GUPY_API_TOKEN,
    requestsPerMinute: config.GUPY_API_REQUESTS_PER_MINUTE,
    timeoutMs: config.GUPY_API_TIMEOUT_SECONDS * 1000,
    reconcileMinutes: config.GUPY_RECONCILE_MINUTES,
    watchMinutes: config.GUPY_WATCH_MINUTES,
    repair: config.GUPY_WEBHOOK_REPAIR,
    want: config.PUBLIC_URL === undefined || secret === undefined
      ? undefined
      : wantedSubscription(config.PUBLIC_URL, secret, { name: config.GUPY_TECH_OWNER_NAME, email: config.GUPY_TECH_OWNER_EMAIL })
  }
}

export async function buildApp ({ config, logger, mapping = loadMapping(config.MAPPING_FILE), alerts: alertHooks, push: pushHooks }: AppOptions) {
  const app = Fastify({
    loggerInstance: logger ?? createLogger(config.LOG_LEVEL),
    logController: new LogController({ disableRequestLogging: true }), // one line per request, below
    genReqId: () => randomUUID(),
    trustProxy: typeof config.TRUST_PROXY === 'number' ? hops(config.TRUST_PROXY) : config.TRUST_PROXY,
    return503OnClosing: false, // answered below, with Retry-After
    // The store waits for another service to stop and checks the file: each bounds its own wait.
    pluginTimeout: 0
  }).withTypeProvider<ZodTypeProvider>()

  if (mapping.unknownPaths.length > 0) {
    app.log.warn({ mappingFile: config.MAPPING_FILE, paths: mapping.unknownPaths },
      'the mapping file reads paths that are no field of Gupy\'s payload (a typo?): they will always be empty or their fallback')
  }
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  await app.register(metrics)
  await app.register(store, { databasePath: config.DATABASE_PATH })
  await app.register(background, {
    mapping,
    timeZone: config.TIMEZONE,
    extras: { baseLegal: config.RUBEUS_BASE_LEGAL, origem: config.RUBEUS_ORIGEM },
    retentionDays: config.RETENTION_DAYS,
    gupy: gupyWork(config)
  })
  const push = config.RUBEUS_DELIVERY === 'push'
  app.decorate('outbound', createOutbound({
    feeds: app.store.feeds,
    writes: app.store.writes,
    mapper: app.mapper,
    metrics: app.metrics,
    batchSize: config.FEED_BATCH_SIZE,
    // A pushed record goes as soon as it is mapped: the contact holds the newest value of each field, an event its own `momento`.
    settleMs: push ? 0 : config.FEED_SETTLE_SECONDS * 1000
  }))
  await app.register(serviceStatus, {
    eventFeeds: mapping.feeds.map((f) => f.name),
    settleSeconds: config.FEED_SETTLE_SECONDS,
    retentionDays: config.RETENTION_DAYS,
    delivery: config.RUBEUS_DELIVERY
  })
  if (config.ALERT_WEBHOOK_URL !== undefined) {
    await app.register(alerts, {
      url: config.ALERT_WEBHOOK_URL,
      checkSeconds: config.ALERT_CHECK_SECONDS,
      afterMinutes: config.ALERT_AFTER_MINUTES,
      repeatHours: config.ALERT_REPEAT_HOURS,
      ...alertIdentity(config),
      ...alertHooks
    })
  }

  let closing = false
  app.addHook('preClose', async () => { closing = true })
  // Callback-style hooks: they run on every request, and cost less than async ones.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    if (!closing) return done()
    reply.header('connection', 'close')
    done(new ShuttingDownError())
  })
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({
      method: request.method,
      path: request.url.split('?', 1)[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ip: request.ip,
      ...request.logFields
    }, 'request')
    done()
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A storage failure (locked, full, I/O) is never a bare 500: the caller is told to come back.
    const err: FastifyError = isStorageError(error) ? new DatabaseUnavailableError(sqliteCode(error) ?? 'storage error') : error
    // Damage met by any route (a feed, the console) is the whole service's from now on.
    if (isDamage(error)) app.store.writes.report(error)
    if (err !== error) request.log.warn({ code: sqliteCode(error) }, 'database unavailable')
    const status = err.validation ? 400 : (err.statusCode ?? 500)
    const code = err.validation ? 'FST_ERR_VALIDATION' : (err.code ?? 'BRIDGE_ERR_INTERNAL')
    request.logFields = { ...request.logFields, code }
    if (status >= 500 && status !== 503) {
      request.log.error({ err }, 'request failed')
    }
    if (status === 503) reply.header('retry-after', RETRY_AFTER_SECONDS)
    const message = err.validation
      ? err.validation.map((v) => `${v.instancePath.slice(1).replaceAll('/', '.') || 'body'} ${v.message ?? 'is invalid'}`).join('; ')
      : status >= 500 && status !== 503 ? 'Internal Server Error' : (CLEAR_MESSAGES[code] ?? err.message)
    return reply.code(status).send({ statusCode: status, code, error: STATUS_CODES[status], message })
  })
  app.setNotFoundHandler((request) => {
    throw new NotFoundError(`no route for ${request.method} ${request.url.split('?', 1)[0]}`)
  })

  await app.register(health)
  await app.register(webhook, {
    secrets: config.GUPY_WEBHOOK_SECRETS,
    allowedIps: config.GUPY_ALLOWED_IPS,
    bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES
  })
  if (push) {
    // No feed URL answers in push mode (404): no record goes out by two roads.
    await app.register(pusher, {
      baseUrl: config.RUBEUS_API_URL!,
      origem: config.RUBEUS_ORIGEM!,
      token: config.RUBEUS_API_TOKEN!,
      requestsPerMinute: config.RUBEUS_API_REQUESTS_PER_MINUTE,
      timeoutMs: config.RUBEUS_API_TIMEOUT_SECONDS * 1000,
      feeds: mapping.feeds,
      timeZone: config.TIMEZONE,
      batchSize: config.FEED_BATCH_SIZE,
      ...pushHooks
    })
  } else {
    await app.register(feeds, {
      auth: {
        mode: config.RUBEUS_FEED_AUTH,
        tokens: config.RUBEUS_FEED_TOKENS,
        basicUser: config.RUBEUS_FEED_BASIC_USER,
        basicPassword: config.RUBEUS_FEED_BASIC_PASSWORD
      },
      eventFeeds: mapping.feeds.map((f) => f.name),
      batchSize: config.FEED_BATCH_SIZE,
      settleSeconds: config.FEED_SETTLE_SECONDS
    })
  }
  if (config.CONSOLE_PASSWORD === undefined) throw new Error('no console password configured')
  await app.register(consolePlugin, {
    user: config.CONSOLE_USER,
    password: config.CONSOLE_PASSWORD,
    timeZone: config.TIMEZONE
  })
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
