/** `register-webhooks` and `check-webhooks`: the two Gupy subscriptions, through Gupy's API. */
import { existsSync } from 'node:fs'
import type { Config } from '../config.js'
import { createGupyApi, GupyApiError, type GupyApi, type RequestBudget } from '../gupy/api.js'
import { sharedBudget } from '../store/gupy-budget.js'
import { ACTIONS, applyRepair, checkSubscriptions, planRepair, wantedSubscription, type Wanted } from '../gupy/subscriptions.js'
import { createInbox } from '../store/inbox.js'
import { UsageError, withDatabase, type Command, type Context } from './command.js'

function wanted (config: Config): Wanted {
  if (config.PUBLIC_URL === undefined) throw new UsageError('set PUBLIC_URL, the https address Gupy reaches this service at')
  const secret = config.GUPY_WEBHOOK_SECRETS[0]
  if (secret === undefined) throw new UsageError('no webhook secret: set GUPY_WEBHOOK_SECRETS, or start the service once to generate one')
  return wantedSubscription(config.PUBLIC_URL, secret, { name: config.GUPY_TECH_OWNER_NAME, email: config.GUPY_TECH_OWNER_EMAIL })
}

/** `12:03:04 UTC`. */
const clockTime = (ms: number) => `${new Date(ms).toISOString().slice(11, 19)} UTC`

/**
 * Gupy's API with the configured token, taking its slots from `budget` (the one every process on
 * the database shares); waits for the budget and retries are told on stderr.
 */
export function gupyClient (config: Config, ctx: Context, permissions = 'the webhook permissions', budget?: RequestBudget): GupyApi {
  if (config.GUPY_API_TOKEN === undefined) throw new UsageError(`set GUPY_API_TOKEN (a Gupy API token with ${permissions})`)
  return createGupyApi({
    baseUrl: config.GUPY_API_URL,
    token: config.GUPY_API_TOKEN,
    requestsPerMinute: config.GUPY_API_REQUESTS_PER_MINUTE,
    timeoutMs: config.GUPY_API_TIMEOUT_SECONDS * 1000,
    ...(budget === undefined ? {} : { budget }),
    onWait: (ms, reason, kind) => {
      const s = Math.ceil(ms / 1000)
      const who = budget === undefined ? 'this command waits' : 'every process on this database waits'
      if (kind === 'pause') ctx.err(`Gupy's rate limit: Gupy answered ${reason}; ${who} until ${clockTime(Date.now() + ms)} (${s} s)\n`)
      else if (kind === 'budget') ctx.err(`Gupy's request budget: waiting ${s} s for ${reason}\n`)
      else ctx.err(`Gupy: ${reason}; retrying in ${s} s\n`)
    }
  })
}

/**
 * Runs `work` with the request budget of the database when there is one (register-webhooks may come
 * before the service first started: then there is no other process to share with).
 */
async function withSharedBudget<R> (config: Config, work: (budget: RequestBudget | undefined) => Promise<R>): Promise<R> {
  if (!existsSync(config.DATABASE_PATH)) return await work(undefined)
  return await withDatabase(config, async (db) => await work(sharedBudget(db)))
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
    return await withSharedBudget(config, async (budget) => {
      const gupy = gupyClient(config, ctx, undefined, budget)
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
    })
  }
}

export const checkWebhooks: Command = {
  summary: 'check that both Gupy subscriptions exist, are active and point here; when the last delivery came',
  usage: 'gupy-rubeus-bridge check-webhooks\n\nExits 1 when a subscription is missing, inactive or points elsewhere.',
  async run (ctx) {
    const { config, out } = ctx
    const want = wanted(config)
    let problems = 0
    const failed = await withSharedBudget(config, async (budget) => {
      const gupy = gupyClient(config, ctx, undefined, budget)
      try {
        for (const result of checkSubscriptions(await gupy.listWebhooks(), want)) {
          if (result.state !== 'ok') problems++
          if (result.state === 'missing') {
            const { elsewhere } = result
            out(`${result.action}: MISSING${elsewhere.length > 0 ? ` (points elsewhere: ${elsewhere.join(', ')})` : ''}\n`)
          } else out(`${result.action}: ${result.state === 'ok' ? 'ok' : `WRONG: ${result.differences.join('; ')}`} (${result.id})\n`)
        }
        return undefined
      } catch (err) {
        return apiFailure(ctx, err)
      }
    })
    if (failed !== undefined) return failed
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
