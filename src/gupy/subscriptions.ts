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

/** Ours: it posts to a bridge's webhook path (the host may have changed with PUBLIC_URL). */
export const isOurs = (s: Subscription) => typeof s.postbackUrl === 'string' && s.postbackUrl.replace(/\/+$/, '').endsWith(WEBHOOK_PATH)

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
  /** No subscription for the action posts to the wanted URL; `elsewhere`: ours that post to another host. */
  | { action: Action, state: 'missing', elsewhere: string[] }
  | { action: Action, state: 'ok', id: string }
  /** It posts here but differs (owner differences are not counted). */
  | { action: Action, state: 'wrong', id: string, differences: string[] }

/** `check-webhooks`: for each action, whether a subscription posts here and is as wanted. */
export function checkSubscriptions (subscriptions: readonly Subscription[], want: Wanted): CheckResult[] {
  return ACTIONS.map((action): CheckResult => {
    const candidates = subscriptions.filter((s) => s.action === action)
    const exact = candidates.find((s) => s.postbackUrl === want.postbackUrl)
    if (exact === undefined) return { action, state: 'missing', elsewhere: candidates.filter(isOurs).map((s) => s.postbackUrl as string) }
    const diff = differences(exact, want).filter((d) => !d.startsWith('techOwner'))
    return diff.length === 0 ? { action, state: 'ok', id: exact.id } : { action, state: 'wrong', id: exact.id, differences: diff }
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

/** `extra`: how many more of our subscriptions exist for the action (to be removed in Gupy by hand). */
export type RepairPlan =
  /** Neither the configuration nor the existing subscription names a technical owner: nothing can be sent. */
  | { action: Action, kind: 'needs-owner', extra: number }
  /** `id`: what Gupy answered once created by applyRepair, when it said. */
  | { action: Action, kind: 'create', body: SubscriptionBody, extra: number, id?: string | undefined }
  | { action: Action, kind: 'update', id: string, body: SubscriptionBody, differences: string[], extra: number }
  | { action: Action, kind: 'up-to-date', id: string, extra: number }

/**
 * `register-webhooks` for one action: create what is missing, update what differs, never duplicate.
 * Of ours, the one posting to the wanted URL is kept, else the first (PUBLIC_URL changed).
 */
export function planRepair (subscriptions: readonly Subscription[], action: Action, want: Wanted): RepairPlan {
  const ours = subscriptions.filter((s) => s.action === action && isOurs(s))
  const current = ours.find((s) => s.postbackUrl === want.postbackUrl) ?? ours[0]
  const extra = Math.max(0, ours.length - 1)
  const techOwnerName = want.techOwnerName ?? current?.techOwnerName
  const techOwnerEmail = want.techOwnerEmail ?? current?.techOwnerEmail
  if (techOwnerName === undefined || techOwnerEmail === undefined) return { action, kind: 'needs-owner', extra }
  const body: SubscriptionBody = { action, status: 'active', postbackUrl: want.postbackUrl, clientHeaders: want.clientHeaders, techOwnerName, techOwnerEmail }
  if (current === undefined) return { action, kind: 'create', body, extra }
  const diff = differences(current, want)
  return diff.length === 0 ? { action, kind: 'up-to-date', id: current.id, extra } : { action, kind: 'update', id: current.id, body, differences: diff, extra }
}

/** Sends a plan's creation or update to Gupy; the plan back, with a created subscription's id. */
export async function applyRepair (api: Pick<GupyApi, 'call'>, plan: RepairPlan): Promise<RepairPlan> {
  if (plan.kind === 'create') {
    const created = await api.call('POST', '/api/v1/webhooks', plan.body) as { id?: string } | undefined
    return { ...plan, id: created?.id }
  }
  if (plan.kind === 'update') await api.call('PUT', `/api/v1/webhooks/${encodeURIComponent(plan.id)}`, plan.body)
  return plan
}
