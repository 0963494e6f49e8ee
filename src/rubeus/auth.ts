/** Authenticating Rubeus's polls: Bearer token, Basic user and password, or none (explicit opt-in). */
import { basicCredentials, matchesAnySecret, secretDigests } from '../credentials.js'

export interface FeedAuthOptions {
  mode: 'bearer' | 'basic' | 'none'
  tokens: readonly string[]
  basicUser?: string
  basicPassword?: string
}

export interface FeedAuth {
  /** Whether the `Authorization` header carries valid credentials. */
  check: (authorization: string | undefined) => boolean
  /** The `WWW-Authenticate` challenge sent with a 401. */
  challenge: string
}

export function feedAuth (opts: FeedAuthOptions): FeedAuth {
  if (opts.mode === 'none') return { check: () => true, challenge: '' }
  if (opts.mode === 'basic') {
    if (opts.basicUser === undefined || opts.basicPassword === undefined) throw new Error('Basic feed credentials are not configured')
    return {
      check: basicCredentials(opts.basicUser, opts.basicPassword),
      challenge: 'Basic realm="rubeus-feeds", charset="UTF-8"'
    }
  }
  if (opts.tokens.length === 0) throw new Error('no Rubeus feed token configured')
  const tokens = secretDigests(opts.tokens)
  return {
    check (authorization) {
      const token = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
      return token !== undefined && matchesAnySecret(token, tokens)
    },
    challenge: 'Bearer realm="rubeus-feeds"'
  }
}
