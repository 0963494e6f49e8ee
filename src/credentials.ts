/** Comparing presented credentials with configured ones in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto'

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
