/** `register-webhooks` and `check-webhooks`: the two Gupy subscriptions, through Gupy's API. */
import type { Config } from '../config.js'
import { createGupyApi, GupyApiError, type GupyApi } from '../gupy/api.js'
import { ACTIONS, applyRepair, checkSubscriptions, planRepair, wantedSubscription, type Wanted } from '../gupy/subscriptions.js'
import { createInbox } from '../store/inbox.js'
import { UsageError, withDatabase, type Command, type Context } from './command.js'

function wanted (config: Config): Wanted {
  if (config.PUBLIC_URL === undefined) throw new UsageError('set PUBLIC_URL, the https address Gupy reaches this service at')
  const secret = config.GUPY_WEBHOOK_SECRETS[0]
  if (secret === undefined) throw new UsageError('no webhook secret: set GUPY_WEBHOOK_SECRETS, or start the service once to generate one')
  return wantedSubscription(config.PUBLIC_URL, secret, { name: config.GUPY_TECH_OWNER_NAME, email: config.GUPY_TECH_OWNER_EMAIL })
}

/** Gupy's API with the configured token; rate-limit and retry waits are told on stderr. */
export function gupyClient (config: Config, ctx: Context, permissions = 'the webhook permissions'): GupyApi {
  if (config.GUPY_API_TOKEN === undefined) throw new UsageError(`set GUPY_API_TOKEN (a Gupy API token with ${permissions})`)
  return createGupyApi({
    baseUrl: config.GUPY_API_URL,
    token: config.GUPY_API_TOKEN,
    requestsPerMinute: config.GUPY_API_REQUESTS_PER_MINUTE,
    timeoutMs: config.GUPY_API_TIMEOUT_SECONDS * 1000,
    onWait: (ms, reason) => {
      ctx.err(reason.startsWith('rate limit') ? `Gupy's rate limit: waiting ${Math.ceil(ms / 1000)} s\n` : `Gupy: ${reason}; retrying in ${Math.ceil(ms / 1000)} s\n`)
    }
  })
}

export function apiFailure (ctx: Context, err: unknown): number {
  if (!(err instanceof GupyApiError)) throw err
  ctx.err(`${err.message}\n`)
  return 1
}

export const registerWebhooks: Command = {
  summary: 'create or update the application.created and application.moved subscriptions in Gupy',
  usage: 'gupy-rubeus-bridge register-webhooks\n\n' +
    'Needs GUPY_API_TOKEN, PUBLIC_URL, GUPY_TECH_OWNER_NAME and GUPY_TECH_OWNER_EMAIL. Idempotent:\n' +
    'creates what is missing, updates what differs (URL, headers, inactive), never duplicates.',
  async run (ctx) {
    const { config, out } = ctx
    const want = wanted(config)
    const gupy = gupyClient(config, ctx)
    try {
      const subscriptions = await gupy.listWebhooks()
      for (const action of ACTIONS) {
        const plan = planRepair(subscriptions, action, want)
        if (plan.kind === 'needs-owner') throw new UsageError('set GUPY_TECH_OWNER_NAME and GUPY_TECH_OWNER_EMAIL (Gupy requires a technical owner)')
        const done = await applyRepair(gupy, plan)
        if (done.kind === 'create') out(`${action}: created${done.id === undefined ? '' : ` (${done.id})`} → ${want.postbackUrl}\n`)
        else if (done.kind === 'up-to-date') out(`${action}: up to date (${done.id})\n`)
        else if (done.kind === 'update') out(`${action}: updated (${done.id}): ${done.differences.join('; ')}\n`)
        if (done.extra > 0) out(`  note: ${done.extra} more subscription(s) for ${action} post to a bridge; remove the extra ones in Gupy\n`)
      }
      return 0
    } catch (err) {
      return apiFailure(ctx, err)
    }
  }
}

export const checkWebhooks: Command = {
  summary: 'check that both Gupy subscriptions exist, are active and point here; when the last delivery came',
  usage: 'gupy-rubeus-bridge check-webhooks\n\nExits 1 when a subscription is missing, inactive or points elsewhere.',
  async run (ctx) {
    const { config, out } = ctx
    const want = wanted(config)
    const gupy = gupyClient(config, ctx)
    let problems = 0
    try {
      for (const result of checkSubscriptions(await gupy.listWebhooks(), want)) {
        if (result.state !== 'ok') problems++
        if (result.state === 'missing') {
          const { elsewhere } = result
          out(`${result.action}: MISSING${elsewhere.length > 0 ? ` (points elsewhere: ${elsewhere.join(', ')})` : ''}\n`)
        } else out(`${result.action}: ${result.state === 'ok' ? 'ok' : `WRONG: ${result.differences.join('; ')}`} (${result.id})\n`)
      }
    } catch (err) {
      return apiFailure(ctx, err)
    }
    let last: number | undefined
    try {
      last = await withDatabase(config, (db) => createInbox(db).lastWebhookAt(), true)
    } catch {
      last = undefined
    }
    out(`last webhook received: ${last === undefined ? 'never' : `${new Date(last).toISOString()} (${Math.round((Date.now() - last) / 60_000)} min ago)`}\n`)
    if (problems > 0) out('run `gupy-rubeus-bridge register-webhooks` to fix\n')
    return problems === 0 ? 0 : 1
  }
}
