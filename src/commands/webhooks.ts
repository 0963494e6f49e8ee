/**
 * `register-webhooks` and `check-webhooks`: the two Gupy subscriptions, through Gupy's API. Only the
 * bridge's own are ever changed (SPEC §3): those posting to exactly PUBLIC_URL/webhooks/gupy and those
 * whose ids its database keeps.
 */
import { existsSync } from 'node:fs'
import type { Config } from '../config.js'
import { createGupyApi, GupyApiError, type GupyApi, type RequestBudget } from '../gupy/api.js'
import { ACTIONS, applyRepair, checkSubscriptions, notOurs, planRepair, wantedSubscription, WEBHOOK_PATH, type Foreign, type Wanted } from '../gupy/subscriptions.js'
import { openDatabase } from '../store/database.js'
import { openSharedBudget, sharedBudget } from '../store/gupy-budget.js'
import { createGupyState, ownedSubscriptions } from '../store/gupy-state.js'
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

/** The API token, or a usage error naming the permissions it needs. */
function requireToken (config: Config, permissions: string): string {
  if (config.GUPY_API_TOKEN === undefined) throw new UsageError(`set GUPY_API_TOKEN (a Gupy API token with ${permissions})`)
  return config.GUPY_API_TOKEN
}

/**
 * Gupy's API with the configured token, taking its slots from `budget` (the one every process on
 * the database shares); waits for the budget and retries are told on stderr.
 */
export function gupyClient (config: Config, ctx: Context, permissions = 'the webhook permissions', budget?: RequestBudget): GupyApi {
  return createGupyApi({
    baseUrl: config.GUPY_API_URL,
    token: requireToken(config, permissions),
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

export function apiFailure (ctx: Context, err: unknown): number {
  if (!(err instanceof GupyApiError)) throw err
  ctx.err(`${err.message}\n`)
  return 1
}

/** Another's subscription, told as information only. */
const leftAlone = (f: Foreign) => `  another subscription for ${f.action} posts to ${f.postbackUrl} (${f.id}): not this bridge's, left alone\n`

export const registerWebhooks: Command = {
  summary: 'create or update the application.created and application.moved subscriptions in Gupy',
  usage: 'gupy-rubeus-bridge register-webhooks\n\n' +
    'Needs GUPY_API_TOKEN, PUBLIC_URL, GUPY_TECH_OWNER_NAME and GUPY_TECH_OWNER_EMAIL. Idempotent:\n' +
    'creates what is missing, updates what differs (URL, headers, inactive), never duplicates.\n' +
    'Changes only the bridge\'s own subscriptions: those posting to exactly PUBLIC_URL/webhooks/gupy and\n' +
    'those whose ids its database keeps (created, repaired or found there before; a new PUBLIC_URL moves them).\n' +
    'Creates the database when run before the service\'s first start.',
  async run (ctx) {
    const { config, out } = ctx
    const want = wanted(config)
    requireToken(config, 'the webhook permissions')
    // The ids of the subscriptions it creates or repairs are kept in the service's database, so that
    // a later change of PUBLIC_URL moves them. Before the service's first start there is none yet:
    // it is created here (and migrated, as the service would at start-up).
    const created = !existsSync(config.DATABASE_PATH)
    const db = openDatabase(config.DATABASE_PATH, { busyTimeoutMs: 10_000 })
    const gupy = gupyClient(config, ctx, undefined, sharedBudget(db))
    try {
      if (created) ctx.err(`created the database at ${config.DATABASE_PATH} to keep the subscriptions' ids: start the service with this DATABASE_PATH\n`)
      const state = createGupyState(db)
      const ownership = {
        owned: state.ownedSubscriptions(),
        record: (id: string, action: string, postbackUrl: string) => { state.recordSubscription(id, action, postbackUrl, Date.now()) }
      }
      const subscriptions = await gupy.listWebhooks()
      for (const action of ACTIONS) {
        const plan = planRepair(subscriptions, action, want, ownership.owned)
        if (plan.kind === 'needs-owner') throw new UsageError('set GUPY_TECH_OWNER_NAME and GUPY_TECH_OWNER_EMAIL (Gupy requires a technical owner)')
        const done = await applyRepair(gupy, plan, ownership)
        if (done.kind === 'create') out(`${action}: created${done.id === undefined ? '' : ` (${done.id})`} → ${want.postbackUrl}\n`)
        else if (done.kind === 'up-to-date') out(`${action}: up to date (${done.id})\n`)
        else if (done.kind === 'update') out(`${action}: updated (${done.id}): ${done.differences.join('; ')}\n`)
        if (done.extra.length > 0) out(`  note: ${done.extra.length} more of this bridge's subscriptions for ${action} (${done.extra.join(', ')}); remove the extra ones in Gupy\n`)
      }
      for (const foreign of notOurs(subscriptions, want, ownership.owned)) out(leftAlone(foreign))
      return 0
    } catch (err) {
      return apiFailure(ctx, err)
    } finally {
      db.close()
    }
  }
}

export const checkWebhooks: Command = {
  summary: 'check that both Gupy subscriptions exist, are active and point here; when the last delivery came',
  usage: 'gupy-rubeus-bridge check-webhooks\n\nExits 1 when a subscription is missing, inactive or points elsewhere.\n' +
    'Only reads: the database (the ids of the bridge\'s subscriptions) and Gupy\'s list.',
  async run (ctx) {
    const { config, out } = ctx
    const want = wanted(config)
    requireToken(config, 'the webhook permissions')
    // Read-only: a check never migrates or writes, and runs beside the service (but for the slots
    // of the request budget it takes, on a connection of its own).
    let known: { owned: Map<string, string>, last: number | undefined } | undefined
    try {
      known = await withDatabase(config, (db) => ({ owned: ownedSubscriptions(db), last: createInbox(db).lastWebhookAt() }), true)
    } catch {
      known = undefined
    }
    const owned = known?.owned ?? new Map<string, string>()
    let problems = 0
    const shared = openSharedBudget(config.DATABASE_PATH)
    try {
      const subscriptions = await gupyClient(config, ctx, undefined, shared?.budget).listWebhooks()
      for (const result of checkSubscriptions(subscriptions, want, owned)) {
        if (result.state !== 'ok') problems++
        if (result.state === 'missing') out(`${result.action}: MISSING\n`)
        else out(`${result.action}: ${result.state === 'ok' ? 'ok' : `WRONG: ${result.differences.join('; ')}`} (${result.id})\n`)
      }
      for (const foreign of notOurs(subscriptions, want, owned)) out(leftAlone(foreign))
    } catch (err) {
      return apiFailure(ctx, err)
    } finally {
      shared?.close()
    }
    if (known === undefined) out(`no readable database at ${config.DATABASE_PATH}: only subscriptions posting to exactly ${config.PUBLIC_URL}${WEBHOOK_PATH} were counted as this bridge's\n`)
    const last = known?.last
    out(`last webhook received: ${last === undefined ? 'never' : `${new Date(last).toISOString()} (${Math.round((Date.now() - last) / 60_000)} min ago)`}\n`)
    if (problems > 0) out('run `gupy-rubeus-bridge register-webhooks` to fix\n')
    return problems === 0 ? 0 : 1
  }
}
