/** Comparing presented credentials with configured ones in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { onRequestHookHandler } from 'fastify'
import type { Counter } from 'prom-client'
import { TooManyFailedLoginsError, UnauthorizedError } from './errors.js'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Digests of the configured secrets, computed once. */
export function secretDigests (secrets: readonly string[]): Buffer[] {
  return secrets.map(digest)
}

/** Constant-time check against every configured secret (no early exit, equal-length digests). */
export function matchesAnySecret (presented: string, secrets: readonly Buffer[]): boolean {
  const p = digest(presented)
  let ok = false
  for (const s of secrets) ok = timingSafeEqual(p, s) || ok
  return ok
}

/**
 * A check of `Authorization: Basic …` against one user and password: the whole `user:password`
 * is compared as one digest, so neither a wrong user nor a wrong length answers sooner.
 */
export function basicCredentials (user: string, password: string): (authorization: string | undefined) => boolean {
  const expected = secretDigests([`${user}:${password}`])
  return (authorization) => {
    const encoded = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '')?.[1]
    return encoded !== undefined && matchesAnySecret(Buffer.from(encoded, 'base64').toString('utf8'), expected)
  }
}

/** Failed logins an address may make within a window before it must wait for the window's end. */
export const FAILED_LOGINS_ALLOWED = 10
export const FAILED_LOGINS_WINDOW_MS = 60_000
/** Addresses remembered at most: a crowd of addresses forgets its oldest first, never grows memory. */
const REMEMBERED_ADDRESSES = 10_000

/**
 * Failed logins per caller address, in windows of a minute from an address's first failure: after
 * FAILED_LOGINS_ALLOWED failures, the address is refused until its window ends, right password or
 * not, so guessing costs a minute per ten tries.
 */
export function failedLogins (now: () => number = Date.now) {
  const windows = new Map<string, { since: number, failures: number }>()
  return {
    /** How long the address must still wait before it may try again; 0 when it may. */
    waitMs (address: string): number {
      const window = windows.get(address)
      if (window === undefined) return 0
      const left = window.since + FAILED_LOGINS_WINDOW_MS - now()
      if (left <= 0) windows.delete(address)
      return left > 0 && window.failures >= FAILED_LOGINS_ALLOWED ? left : 0
    },
    failed (address: string): void {
      const at = now()
      let window = windows.get(address)
      if (window === undefined || at - window.since >= FAILED_LOGINS_WINDOW_MS) {
        windows.delete(address) // re-inserted last: the map stays in order of first failure
        window = { since: at, failures: 0 }
        windows.set(address, window)
      }
      window.failures++
      for (const oldest of windows.keys()) {
        if (windows.size <= REMEMBERED_ADDRESSES) break
        windows.delete(oldest)
      }
    }
  }
}

export interface LoginGuardOptions {
  /** The label of `bridge_auth_failures_total{route}`. */
  route: string
  check: (authorization: string | undefined) => boolean
  /** The `WWW-Authenticate` challenge of a 401 (none when empty). */
  challenge: string
  failures: Counter<'route'>
  now?: () => number
}

/** The `onRequest` hook of a route behind credentials: slowed after repeated failures, each failure counted. */
export function loginGuard (opts: LoginGuardOptions): onRequestHookHandler {
  const logins = failedLogins(opts.now)
  return (request, reply, done) => {
    const waitMs = logins.waitMs(request.ip)
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)))
      return done(new TooManyFailedLoginsError())
    }
    if (opts.check(request.headers.authorization)) return done()
    logins.failed(request.ip)
    opts.failures.inc({ route: opts.route })
    if (opts.challenge !== '') reply.header('www-authenticate', opts.challenge)
    done(new UnauthorizedError())
  }
}
