/**
 * The bridge's two Gupy subscriptions: what they should be, which are ours, what differs, and how to
 * repair them. Nothing here prints: `check-webhooks`, `register-webhooks` (and a watchdog) report the results.
 */
import type { GupyApi, Subscription } from './api.js'

export const ACTIONS = ['application.created', 'application.moved'] as const
export type Action = typeof ACTIONS[number]
/** Where the service receives Gupy's deliveries, under PUBLIC_URL. */
export const WEBHOOK_PATH = '/webhooks/gupy'

/** The subscription the bridge wants for each action. Holds the webhook secret: never log it. */
export interface Wanted {
  postbackUrl: string
  clientHeaders: { Authorization: string, 'Content-Type': string }
  /** Only checked (and sent) when set; Gupy requires an owner when a subscription is created. */
  techOwnerName?: string | undefined
  techOwnerEmail?: string | undefined
}

export function wantedSubscription (publicUrl: string, secret: string, owner: { name?: string | undefined, email?: string | undefined } = {}): Wanted {
  return {
    postbackUrl: publicUrl + WEBHOOK_PATH,
    clientHeaders: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    techOwnerName: owner.name,
    techOwnerEmail: owner.email
  }
}

/**
 * What the bridge keeps of its own subscriptions (in its database): each one it created, repaired or
 * found at its exact address, with the postbackUrl it last gave it; and how to keep one more.
 */
export interface Ownership {
  owned: ReadonlyMap<string, string>
  record: (id: string, action: Action, postbackUrl: string) => void
}

/**
 * The bridge's (SPEC §3): posting to exactly PUBLIC_URL/webhooks/gupy, or recorded by the bridge and
 * still posting where it last pointed it (so a changed PUBLIC_URL moves it). Nothing else is, whatever
 * its URL looks like: another integration's `/webhooks/gupy`, a second bridge's on the same account
 * (staging and production), or one of ours that someone else re-pointed (a person, or a bridge
 * restored from this one's backup: both claiming it would flip it back and forth).
 */
export function isOurs (s: Subscription, want: Wanted, owned: ReadonlyMap<string, string>): boolean {
  return typeof s.postbackUrl === 'string' && (s.postbackUrl === want.postbackUrl || owned.get(s.id) === s.postbackUrl)
}

/** The action's subscriptions that are ours, the one to keep first: at the wanted address (one we recorded before one we did not), then one we recorded. */
function ours (subscriptions: readonly Subscription[], action: Action, want: Wanted, owned: ReadonlyMap<string, string>): Subscription[] {
  const rank = (s: Subscription) => (s.postbackUrl === want.postbackUrl ? 0 : 2) + (owned.has(s.id) ? 0 : 1)
  return subscriptions.filter((s) => s.action === action && isOurs(s, want, owned)).sort((a, b) => rank(a) - rank(b))
}

/** Another's subscription, as it may be shown: its address without query, fragment or user (they may hold its key). */
export interface Foreign { id: string, action: string, postbackUrl: string }

const shown = (url: string) => {
  try {
    const u = new URL(url)
    return u.origin + u.pathname
  } catch {
    return '(not a URL)'
  }
}

/**
 * Subscriptions for our actions that post to a bridge-like address (`…/webhooks/gupy`) but are not
 * ours: worth mentioning (why a new one was created beside them), never to be touched.
 */
export function notOurs (subscriptions: readonly Subscription[], want: Wanted, owned: ReadonlyMap<string, string>): Foreign[] {
  return subscriptions
    .filter((s) => (ACTIONS as readonly string[]).includes(s.action) && typeof s.postbackUrl === 'string' &&
      shown(s.postbackUrl).replace(/\/+$/, '').endsWith(WEBHOOK_PATH) && !isOurs(s, want, owned))
    .map((s) => ({ id: s.id, action: s.action, postbackUrl: shown(s.postbackUrl as string) }))
}

/** Records `id` as the bridge's, posting to `postbackUrl`, unless it already is (no write when nothing changes). */
export function keep (ownership: Ownership, id: string, action: Action, postbackUrl: string): void {
  if (ownership.owned.get(id) !== postbackUrl) ownership.record(id, action, postbackUrl)
}

const header = (headers: Subscription['clientHeaders'], name: string) =>
  Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]

/** What differs between a subscription and the wanted one; never shows a secret. Owner entries start with `techOwner`. */
export function differences (s: Subscription, want: Wanted): string[] {
  const diff: string[] = []
  if (s.status !== 'active') diff.push(`status ${s.status ?? 'unknown'} → active`)
  if (s.postbackUrl !== want.postbackUrl) diff.push(`postbackUrl ${s.postbackUrl ?? '(none)'} → ${want.postbackUrl}`)
  if (header(s.clientHeaders, 'authorization') !== want.clientHeaders.Authorization) diff.push('Authorization header → Bearer <first GUPY_WEBHOOK_SECRETS entry>')
  if (header(s.clientHeaders, 'content-type') !== want.clientHeaders['Content-Type']) diff.push('Content-Type header → application/json')
  if (want.techOwnerName !== undefined && s.techOwnerName !== want.techOwnerName) diff.push('techOwnerName')
  if (want.techOwnerEmail !== undefined && s.techOwnerEmail !== want.techOwnerEmail) diff.push('techOwnerEmail')
  return diff
}

export type CheckResult =
  /** None of ours for the action. */
  | { action: Action, state: 'missing' }
  | { action: Action, state: 'ok', id: string }
  /** Ours, but it differs: inactive, wrong headers, or posting to an earlier PUBLIC_URL (owner differences are not counted). */
  | { action: Action, state: 'wrong', id: string, differences: string[] }

/** `check-webhooks`: for each action, whether one of ours exists and is as wanted. */
export function checkSubscriptions (subscriptions: readonly Subscription[], want: Wanted, owned: ReadonlyMap<string, string>): CheckResult[] {
  return ACTIONS.map((action): CheckResult => {
    const current = ours(subscriptions, action, want, owned)[0]
    if (current === undefined) return { action, state: 'missing' }
    const diff = differences(current, want).filter((d) => !d.startsWith('techOwner'))
    return diff.length === 0 ? { action, state: 'ok', id: current.id } : { action, state: 'wrong', id: current.id, differences: diff }
  })
}

/** The body Gupy is sent to create or update a subscription; holds the secret. */
export interface SubscriptionBody {
  action: Action
  status: 'active'
  postbackUrl: string
  clientHeaders: Wanted['clientHeaders']
  techOwnerName: string
  techOwnerEmail: string
}

/** `extra`: the ids of more subscriptions of ours for the action (to be removed in Gupy by hand). */
export type RepairPlan =
  /** Neither the configuration nor the existing subscription names a technical owner: nothing can be sent. */
  | { action: Action, kind: 'needs-owner', extra: string[] }
  /** `id`: what Gupy answered once created by applyRepair, when it said. */
  | { action: Action, kind: 'create', body: SubscriptionBody, extra: string[], id?: string | undefined }
  | { action: Action, kind: 'update', id: string, body: SubscriptionBody, differences: string[], extra: string[] }
  | { action: Action, kind: 'up-to-date', id: string, postbackUrl: string, extra: string[] }

/**
 * `register-webhooks` for one action: create what is missing, update what differs, never duplicate,
 * and never touch a subscription that is not ours. Of ours, the one at the wanted address is kept,
 * else one we recorded (PUBLIC_URL changed: it is moved).
 */
export function planRepair (subscriptions: readonly Subscription[], action: Action, want: Wanted, owned: ReadonlyMap<string, string>): RepairPlan {
  const [current, ...more] = ours(subscriptions, action, want, owned)
  const extra = more.map((s) => s.id)
  const techOwnerName = want.techOwnerName ?? current?.techOwnerName
  const techOwnerEmail = want.techOwnerEmail ?? current?.techOwnerEmail
  if (techOwnerName === undefined || techOwnerEmail === undefined) return { action, kind: 'needs-owner', extra }
  const body: SubscriptionBody = { action, status: 'active', postbackUrl: want.postbackUrl, clientHeaders: want.clientHeaders, techOwnerName, techOwnerEmail }
  if (current === undefined) return { action, kind: 'create', body, extra }
  const diff = differences(current, want)
  return diff.length === 0
    ? { action, kind: 'up-to-date', id: current.id, postbackUrl: want.postbackUrl, extra }
    : { action, kind: 'update', id: current.id, body, differences: diff, extra }
}

/**
 * Sends a plan's creation or update to Gupy, then records the subscription as ours (also one found up
 * to date at our address, so that a later change of PUBLIC_URL moves it); the plan back, with a
 * created subscription's id. A creation whose answer gives no id is ours by its address until a later
 * run records it.
 */
export async function applyRepair (api: Pick<GupyApi, 'call'>, plan: RepairPlan, ownership: Ownership): Promise<RepairPlan> {
  if (plan.kind === 'create') {
    const created = await api.call('POST', '/api/v1/webhooks', plan.body) as { id?: unknown } | undefined
    const id = typeof created?.id === 'string' && created.id !== '' ? created.id : undefined
    if (id !== undefined) keep(ownership, id, plan.action, plan.body.postbackUrl)
    return { ...plan, id }
  }
  if (plan.kind === 'update') {
    await api.call('PUT', `/api/v1/webhooks/${encodeURIComponent(plan.id)}`, plan.body)
    keep(ownership, plan.id, plan.action, plan.body.postbackUrl)
  }
  if (plan.kind === 'up-to-date') keep(ownership, plan.id, plan.action, plan.postbackUrl)
  return plan
}
