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
