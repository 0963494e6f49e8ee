/** `register-webhooks` and `check-webhooks`: the two Gupy subscriptions, through Gupy's API. */
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import type { Config } from '../config.js'
import { createInbox } from '../store/inbox.js'
import { UsageError, withDatabase, type Command, type Context } from './command.js'

const ACTIONS = ['application.created', 'application.moved'] as const
const PATH = '/webhooks/gupy'
/** Longest wait for Gupy's rate limit before giving up. */
const MAX_WAIT_MS = 120_000
const ATTEMPTS = 5

interface Subscription {
  id: string
  action: string
  status?: string
  postbackUrl?: string
  clientHeaders?: Record<string, string> | null
  techOwnerName?: string
  techOwnerEmail?: string
}

class GupyApiError extends Error {}

function explain (status: number, body: string): string {
  if (status === 401 || status === 403) {
    return `Gupy refused the token (${status}): check GUPY_API_TOKEN, and that the token has the webhook ` +
      'permissions (listing, configuring and updating webhook configurations)'
  }
  return `Gupy answered ${status}: ${body.slice(0, 300)}`
}

/**
 * Seconds or an HTTP date in Retry-After, else X-RateLimit-Reset: epoch seconds (Gupy's WAF), or
 * seconds from now when the number is too small to be a date; capped.
 */
function retryDelay (headers: Record<string, string | string[] | undefined>, now: number): number {
  const first = (h: string | string[] | undefined) => Array.isArray(h) ? h[0] : h
  const retryAfter = first(headers['retry-after'])
  const reset = first(headers['x-ratelimit-reset'])
  let ms = 1000
  if (retryAfter !== undefined) ms = /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : Date.parse(retryAfter) - now
  else if (reset !== undefined && /^\d+$/.test(reset)) ms = Number(reset) < 1e9 ? Number(reset) * 1000 : Number(reset) * 1000 - now
  return Math.min(MAX_WAIT_MS, Math.max(0, Number.isFinite(ms) ? ms : 1000))
}

function gupyClient (config: Config, ctx: Context) {
  if (config.GUPY_API_TOKEN === undefined) throw new UsageError('set GUPY_API_TOKEN (a Gupy API token with the webhook permissions)')
  const base = config.GUPY_API_URL.replace(/\/+$/, '')
  async function call (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const res = await request(base + path, {
        method,
        headers: { authorization: `Bearer ${config.GUPY_API_TOKEN!}`, 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 30_000,
        bodyTimeout: 30_000
      })
      const text = await res.body.text()
      if (res.statusCode === 429 && attempt < ATTEMPTS) {
        const wait = retryDelay(res.headers, Date.now())
        ctx.err(`Gupy's rate limit: waiting ${Math.ceil(wait / 1000)} s\n`)
        await sleep(wait)
        continue
      }
      if (res.statusCode >= 300) throw new GupyApiError(explain(res.statusCode, text))
      return text === '' ? undefined : JSON.parse(text)
    }
  }

  /** Every subscription, whether Gupy answers a bare array, `{results, totalPages}` or `{data}`. */
  async function list (): Promise<Subscription[]> {
    const all: Subscription[] = []
    for (let page = 1; ; page++) {
      const body = await call('GET', `/api/v1/webhooks?fields=all&perPage=100&page=${page}`) as unknown
      if (Array.isArray(body)) return body as Subscription[]
      const paged = body as { results?: Subscription[], data?: Subscription[], totalPages?: number }
      const items = paged.results ?? paged.data
      if (!Array.isArray(items)) throw new GupyApiError('Gupy answered the subscription list in an unknown shape')
      all.push(...items)
      if (paged.totalPages === undefined || page >= paged.totalPages || items.length === 0) return all
    }
  }
  return { list, call }
}

function wanted (config: Config) {
  if (config.PUBLIC_URL === undefined) throw new UsageError('set PUBLIC_URL, the https address Gupy reaches this service at')
  const secret = config.GUPY_WEBHOOK_SECRETS[0]
  if (secret === undefined) throw new UsageError('no webhook secret: set GUPY_WEBHOOK_SECRETS, or start the service once to generate one')
  return {
    postbackUrl: config.PUBLIC_URL + PATH,
    clientHeaders: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' }
  }
}

/** Ours: it posts to a bridge's webhook path (the host may have changed with PUBLIC_URL). */
const isOurs = (s: Subscription) => typeof s.postbackUrl === 'string' && s.postbackUrl.replace(/\/+$/, '').endsWith(PATH)

const header = (headers: Subscription['clientHeaders'], name: string) =>
  Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]

/** What differs between a subscription and the wanted one; never shows a secret. */
function differences (s: Subscription, want: ReturnType<typeof wanted>, config: Config): string[] {
  const diff: string[] = []
  if (s.status !== 'active') diff.push(`status ${s.status ?? 'unknown'} → active`)
  if (s.postbackUrl !== want.postbackUrl) diff.push(`postbackUrl ${s.postbackUrl ?? '(none)'} → ${want.postbackUrl}`)
  if (header(s.clientHeaders, 'authorization') !== want.clientHeaders.Authorization) diff.push('Authorization header → Bearer <first GUPY_WEBHOOK_SECRETS entry>')
  if (header(s.clientHeaders, 'content-type') !== want.clientHeaders['Content-Type']) diff.push('Content-Type header → application/json')
  if (config.GUPY_TECH_OWNER_NAME !== undefined && s.techOwnerName !== config.GUPY_TECH_OWNER_NAME) diff.push('techOwnerName')
  if (config.GUPY_TECH_OWNER_EMAIL !== undefined && s.techOwnerEmail !== config.GUPY_TECH_OWNER_EMAIL) diff.push('techOwnerEmail')
  return diff
}

function apiFailure (ctx: Context, err: unknown): number {
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
      const subscriptions = await gupy.list()
      for (const action of ACTIONS) {
        const ours = subscriptions.filter((s) => s.action === action && isOurs(s))
        const current = ours.find((s) => s.postbackUrl === want.postbackUrl) ?? ours[0]
        const owner = {
          techOwnerName: config.GUPY_TECH_OWNER_NAME ?? current?.techOwnerName,
          techOwnerEmail: config.GUPY_TECH_OWNER_EMAIL ?? current?.techOwnerEmail
        }
        if (owner.techOwnerName === undefined || owner.techOwnerEmail === undefined) {
          throw new UsageError('set GUPY_TECH_OWNER_NAME and GUPY_TECH_OWNER_EMAIL (Gupy requires a technical owner)')
        }
        const body = { action, status: 'active', ...want, ...owner }
        if (current === undefined) {
          const created = await gupy.call('POST', '/api/v1/webhooks', body) as { id?: string } | undefined
          out(`${action}: created${created?.id === undefined ? '' : ` (${created.id})`} → ${want.postbackUrl}\n`)
        } else {
          const diff = differences(current, want, config)
          if (diff.length === 0) out(`${action}: up to date (${current.id})\n`)
          else {
            await gupy.call('PUT', `/api/v1/webhooks/${encodeURIComponent(current.id)}`, body)
            out(`${action}: updated (${current.id}): ${diff.join('; ')}\n`)
          }
        }
        if (ours.length > 1) out(`  note: ${ours.length - 1} more subscription(s) for ${action} post to a bridge; remove the extra ones in Gupy\n`)
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
      const subscriptions = await gupy.list()
      for (const action of ACTIONS) {
        const candidates = subscriptions.filter((s) => s.action === action)
        const exact = candidates.find((s) => s.postbackUrl === want.postbackUrl)
        if (exact === undefined) {
          problems++
          const elsewhere = candidates.filter(isOurs).map((s) => s.postbackUrl)
          out(`${action}: MISSING${elsewhere.length > 0 ? ` (points elsewhere: ${elsewhere.join(', ')})` : ''}\n`)
          continue
        }
        const diff = differences(exact, want, config).filter((d) => !d.startsWith('techOwner'))
        if (diff.length > 0) problems++
        out(`${action}: ${diff.length === 0 ? 'ok' : `WRONG: ${diff.join('; ')}`} (${exact.id})\n`)
      }
    } catch (err) {
      return apiFailure(ctx, err)
    }
    let last: number | undefined
    try {
      last = await withDatabase(config, (db) => createInbox(db).lastReceivedAt(), true)
    } catch {
      last = undefined
    }
    out(`last delivery received: ${last === undefined ? 'never' : `${new Date(last).toISOString()} (${Math.round((Date.now() - last) / 60_000)} min ago)`}\n`)
    if (problems > 0) out('run `gupy-rubeus-bridge register-webhooks` to fix\n')
    return problems === 0 ? 0 : 1
  }
}
