/** POST /webhooks/gupy — Gupy's deliveries, answered 200 only once durably committed. */
import type { FastifyPluginAsyncZod } from '@fastify/type-provider-zod'
import { ForbiddenAddressError, StoreUnavailableError, UnauthorizedError } from '../errors.js'
import { eventLabel } from '../ops/metrics.js'
import { ClosedError } from '../store/group-commit.js'
import { isDamage } from '../store/sqlite.js'
import { EnvelopeSchema, type Ack } from './envelope.js'
import { matchesAnySecret, secretDigests } from '../credentials.js'
import { addressAllowlist, presentedSecret } from './auth.js'

export interface WebhookOptions {
  secrets: readonly string[]
  allowedIps: readonly string[]
  bodyLimit: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The body's bytes as received (without a byte-order mark), kept so mapping can be re-run later. */
    rawBody?: Buffer
    /** Safe fields for the request's log line (never personal data). */
    logFields?: Record<string, string | number>
  }
}

const withoutBom = (bytes: Buffer) => bytes[0] === 0xEF && bytes[1] === 0xBB && bytes[2] === 0xBF ? bytes.subarray(3) : bytes

const webhook: FastifyPluginAsyncZod<WebhookOptions> = async (app, opts) => {
  if (opts.secrets.length === 0) throw new Error('no Gupy webhook secret configured')
  const secrets = secretDigests(opts.secrets)
  const allowed = addressAllowlist(opts.allowedIps)

  // Gupy stops sending Content-Type once custom headers are configured: read every body as JSON.
  // Encapsulated in this plugin, so other routes keep Fastify's default parsers.
  // Prototype keys (`__proto__`, `constructor.prototype`) are dropped from the parsed envelope, not
  // refused: the stored body is only ever read by JSON.parse, which makes them plain own keys.
  const parseJson = app.getDefaultJsonParser('remove', 'remove')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    // A byte-order mark is no part of the JSON: stored with it, the body could not be mapped later.
    const bytes = withoutBom(body as Buffer)
    request.rawBody = bytes
    parseJson(request, bytes.toString(), done)
  })

  // Before the body is read: a stranger costs nothing and stores nothing.
  app.addHook('onRequest', (request, reply, done) => {
    if (!allowed(request.ip)) return done(new ForbiddenAddressError())
    const secret = presentedSecret(request.headers.authorization)
    if (secret === undefined || !matchesAnySecret(secret, secrets)) {
      reply.header('www-authenticate', 'Bearer realm="gupy-webhooks"')
      app.metrics.authFailures.inc({ route: 'webhook' }) // not slowed: a wrong secret is a setting, and Gupy retries on its own
      return done(new UnauthorizedError())
    }
    done()
  })

  app.addHook('onResponse', (request, reply, done) => {
    app.metrics.webhookDuration.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000)
    if (reply.statusCode < 500 && reply.statusCode >= 400) {
      app.metrics.deliveries.inc({ event: eventLabel(request.logFields?.event as string | undefined), outcome: 'rejected' })
    }
    done()
  })

  app.post('/webhooks/gupy', {
    bodyLimit: opts.bodyLimit,
    schema: { body: EnvelopeSchema } // the answer is built below from two known strings: no serializer needed
  }, async (request) => {
    const { id, event, date } = request.body
    const fields = { eventId: id, event: eventLabel(event), bytes: request.rawBody?.length ?? 0 }
    request.logFields = fields
    if (app.store.writes.damaged !== undefined) {
      // Not stored: Gupy retries for about 2 h, time to restore a backup and take the retries.
      app.metrics.deliveries.inc({ event: fields.event, outcome: 'unavailable' })
      throw new StoreUnavailableError('the database file is damaged')
    }
    let outcome
    try {
      outcome = await app.store.ingest.submit({
        eventId: id, event, eventDate: date, receivedAt: Date.now(), body: request.rawBody ?? ''
      })
    } catch (err) {
      request.log.error({ err, ...fields }, 'delivery not stored')
      app.metrics.deliveries.inc({ event: fields.event, outcome: 'unavailable' })
      throw new StoreUnavailableError(err instanceof ClosedError ? 'shutting down' : isDamage(err) ? 'the database file is damaged' : 'database unavailable')
    }
    request.logFields = { ...fields, outcome }
    app.metrics.deliveries.inc({ event: fields.event, outcome })
    const ack: Ack = { status: outcome, id }
    return ack
  })
}

export default webhook
