/**
 * The subscription watchdog: are both of the bridge's Gupy subscriptions there, active and pointing
 * here (the check of `check-webhooks`)? If not, repair them as `register-webhooks` would, unless told
 * not to. Only the bridge's own subscriptions are ever changed (SPEC §3); others are only mentioned.
 */
import type { GupyApi } from './api.js'
import { applyRepair, checkSubscriptions, keep, notOurs, planRepair, type Action, type Ownership, type Wanted } from './subscriptions.js'

export interface WatchResult {
  action: Action
  /** What the check found. */
  state: 'ok' | 'missing' | 'wrong'
  /** What was done about it: nothing (ok, or repair off), created, updated, or not possible without an owner. */
  repair: 'none' | 'created' | 'updated' | 'needs-owner' | 'off'
  /** What differed (never a secret). */
  differences: string[]
  /** Whether it is up after the repair. */
  up: boolean
}

/** Told about each problem found and each repair; `fields` never holds a secret. */
export type WatchLog = (fields: Record<string, unknown>, message: string) => void

export async function watchSubscriptions (api: GupyApi, want: Wanted, repair: boolean, ownership: Ownership, warn: WatchLog): Promise<WatchResult[]> {
  const subscriptions = await api.listWebhooks()
  const { owned } = ownership
  const results: WatchResult[] = []
  for (const check of checkSubscriptions(subscriptions, want, owned)) {
    if (check.state === 'ok') {
      keep(ownership, check.id, check.action, want.postbackUrl) // found at our address: ours from now on, wherever PUBLIC_URL goes
      results.push({ action: check.action, state: 'ok', repair: 'none', differences: [], up: true })
      continue
    }
    let differences = ['missing']
    if (check.state === 'wrong') differences = check.differences
    else {
      const others = notOurs(subscriptions, want, owned).filter((s) => s.action === check.action).map((s) => s.postbackUrl)
      if (others.length > 0) differences = [`missing (not this bridge's, left alone: ${others.join(', ')})`]
    }
    warn({ event: check.action, state: check.state, differences }, 'Gupy subscription is not as it should be: deliveries may not reach the bridge')
    if (!repair) {
      results.push({ action: check.action, state: check.state, repair: 'off', differences, up: false })
      continue
    }
    const plan = planRepair(subscriptions, check.action, want, owned)
    if (plan.kind === 'needs-owner') {
      warn({ event: check.action }, 'cannot repair the Gupy subscription: set GUPY_TECH_OWNER_NAME and GUPY_TECH_OWNER_EMAIL')
      results.push({ action: check.action, state: check.state, repair: 'needs-owner', differences, up: false })
      continue
    }
    const done = await applyRepair(api, plan, ownership)
    const kind = done.kind === 'create' ? 'created' : 'updated'
    warn({ event: check.action, repair: kind, ...(done.kind === 'create' || done.kind === 'update' ? { id: done.id } : {}) }, `Gupy subscription ${kind} (as register-webhooks would)`)
    results.push({ action: check.action, state: check.state, repair: kind, differences, up: true })
  }
  return results
}
