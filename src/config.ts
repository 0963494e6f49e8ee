/** The service's configuration: one zod schema over the environment, validated once at start-up. */
import { isIP } from 'node:net'
import { z } from 'zod'
import { ConfigError } from './errors.js'
import { GUPY_LIMIT_PER_MINUTE, REQUESTS_PER_MINUTE, TIMEOUT_SECONDS } from './vocabulary/gupy-api.js'
import { isTimeZone } from './vocabulary/formats.js'
import { API_REQUESTS_PER_MINUTE, API_TIMEOUT_SECONDS, DELIVERY_MODES } from './vocabulary/rubeus-api.js'
import { MAX_BATCH_SIZE } from './vocabulary/rubeus-feeds.js'

const MIB = 1024 * 1024

/** A comma-separated list, trimmed, without empty entries. */
const commaList = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))

/** Secrets and tokens: long enough that guessing is hopeless, free of characters a header cannot carry. */
const secretList = (name: string) => commaList.pipe(z.array(
  z.string()
    .min(16, `each ${name} entry must be at least 16 characters long`)
    .regex(/^[\x21-\x7e]+$/, `each ${name} entry must be printable ASCII without spaces`)
))

/** An IPv4/IPv6 address or a CIDR range such as `3.225.75.0/24`. */
export function isAddressOrRange (value: string): boolean {
  const [address = '', prefix, extra] = value.split('/')
  const family = isIP(address)
  if (family === 0 || extra !== undefined) return false
  if (prefix === undefined) return true
  if (!/^\d{1,3}$/.test(prefix)) return false
  return Number(prefix) <= (family === 4 ? 32 : 128)
}

const addressList = commaList.pipe(z.array(
  z.string().refine(isAddressOrRange, { error: (issue) => `"${String(issue.input)}" is not an IP address or CIDR range` })
))

/** Fastify's trustProxy: true/false, a number of hops, or the addresses of trusted proxies. */
const trustProxy = z.string().trim().transform((value, ctx): boolean | number | string[] => {
  if (/^(true|false|1|0|yes|no)$/i.test(value)) return /^(true|1|yes)$/i.test(value)
  if (/^\d+$/.test(value) && Number(value) > 1) return Number(value)
  const list = value.split(',').map((x) => x.trim()).filter((x) => x !== '')
  const bad = list.filter((x) => !isAddressOrRange(x))
  if (list.length === 0 || bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: 'must be true, false, a number of proxy hops, or a comma-separated list of proxy addresses/CIDR ranges' })
    return z.NEVER
  }
  return list
})

/** The public address Gupy posts to: https, no path (`/webhooks/gupy` is appended). */
const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL such as https://bridge.example.com (Gupy posts only to HTTPS)' })
  .transform((u) => u.replace(/\/+$/, ''))

/** Rubeus's CRM address: http(s), no query; `/api/<Method>` is appended, so it must not end in /api. */
const rubeusApiUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://crmsuaempresa.apprubeus.com.br' })
  .refine((u) => !/[?#]/.test(u), 'must be the CRM\'s address without a query or fragment')
  .transform((u) => u.replace(/\/+$/, ''))
  .refine((u) => !/\/api$/i.test(u), 'must be the CRM\'s address without /api (the bridge appends /api/<Method>)')

/** What push delivery cannot start without. */
const PUSH_NEEDS = ['RUBEUS_API_URL', 'RUBEUS_API_TOKEN', 'RUBEUS_ORIGEM'] as const

export const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_PATH: z.string().min(1)
    .refine((p) => p !== ':memory:' && !p.startsWith('file:'), 'must be a file path: deliveries are stored durably')
    .default('./data/bridge.sqlite'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GUPY_WEBHOOK_SECRETS: secretList('GUPY_WEBHOOK_SECRETS').default([]),
  GUPY_ALLOWED_IPS: addressList.default([]),
  TRUST_PROXY: trustProxy.default(false),
  WEBHOOK_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(100 * MIB).default(MIB),
  RUBEUS_FEED_TOKENS: secretList('RUBEUS_FEED_TOKENS').default([]),
  RUBEUS_FEED_AUTH: z.enum(['bearer', 'basic', 'none']).default('bearer'),
  RUBEUS_FEED_BASIC_USER: z.string().regex(/^[^:\s]+$/, 'must not contain a colon or spaces').optional(),
  RUBEUS_FEED_BASIC_PASSWORD: z.string().min(16, 'must be at least 16 characters long').optional(),
  FEED_BATCH_SIZE: z.coerce.number().int().min(1).max(MAX_BATCH_SIZE, `Rubeus accepts at most ${MAX_BATCH_SIZE} records per call`).default(MAX_BATCH_SIZE),
  FEED_SETTLE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as America/Sao_Paulo').default('America/Sao_Paulo'),
  RUBEUS_BASE_LEGAL: z.string().regex(/^\d+$/, 'must be the numeric id of a legal basis in Rubeus').optional(),
  RUBEUS_ORIGEM: z.string().regex(/^\d+$/, 'must be the numeric id of a channel (origem) in Rubeus').optional(),
  RUBEUS_DELIVERY: z.enum(DELIVERY_MODES).default('pull'),
  RUBEUS_API_URL: rubeusApiUrl.optional(),
  // The channel's key: a secret, never logged nor echoed (no message below quotes a value).
  RUBEUS_API_TOKEN: z.string().min(1).optional(),
  RUBEUS_API_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(6000).default(API_REQUESTS_PER_MINUTE),
  RUBEUS_API_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(API_TIMEOUT_SECONDS),
  MAPPING_FILE: z.string().min(1).optional(),
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  CONSOLE_USER: z.string().regex(/^[^:\s]+$/, 'must not contain a colon or spaces').default('operator'),
  CONSOLE_PASSWORD: z.string().min(16, 'must be at least 16 characters long')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  PUBLIC_URL: httpsUrl.optional(),
  GUPY_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('https://api.gupy.io'),
  GUPY_API_TOKEN: z.string().min(1).optional(),
  GUPY_TECH_OWNER_NAME: z.string().min(1).optional(),
  GUPY_TECH_OWNER_EMAIL: z.email('must be an e-mail address').optional(),
  GUPY_API_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1)
    .max(GUPY_LIMIT_PER_MINUTE, `Gupy allows ${GUPY_LIMIT_PER_MINUTE} requests a minute per IP address, for every process of the bridge together`).default(REQUESTS_PER_MINUTE),
  GUPY_API_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(TIMEOUT_SECONDS),
  GUPY_RECONCILE_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  GUPY_WATCH_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  GUPY_WEBHOOK_REPAIR: z.stringbool().default(true),
  // A chat's incoming-webhook address: its path or query is the secret, never logged nor shown.
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL: a chat\'s incoming-webhook address' }).optional(),
  ALERT_CHECK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  ALERT_AFTER_MINUTES: z.coerce.number().int().min(0).max(10_080).default(10),
  ALERT_REPEAT_HOURS: z.coerce.number().int().min(1).max(8_760).default(24)
}).superRefine((env, ctx) => {
  if (env.RUBEUS_FEED_AUTH !== 'basic') return
  for (const key of ['RUBEUS_FEED_BASIC_USER', 'RUBEUS_FEED_BASIC_PASSWORD'] as const) {
    if (env[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when RUBEUS_FEED_AUTH=basic' })
  }
}).superRefine((env, ctx) => {
  if (env.RUBEUS_DELIVERY !== 'push') return
  for (const key of PUSH_NEEDS) {
    if (env[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when RUBEUS_DELIVERY=push' })
  }
  // Said alongside other mistakes, not after they are fixed: only what is missing is looked at.
}, { when: (payload) => typeof payload.value === 'object' && payload.value !== null })

export type Config = z.infer<typeof EnvSchema>

/** Names of the variables whose missing values are generated and kept in the secrets file. */
export const GENERATED_SECRETS = ['GUPY_WEBHOOK_SECRETS', 'RUBEUS_FEED_TOKENS', 'CONSOLE_PASSWORD'] as const

/**
 * Validates the environment. Empty values count as unset, so a copied `.env.example` with blank
 * lines still gets the defaults. Throws one Error that lists every invalid variable.
 */
export function loadConfig (env: Record<string, string | undefined>): Config {
  const known = Object.keys(EnvSchema.shape)
  const input = Object.fromEntries(known
    .map((key) => [key, env[key]?.trim()])
    .filter(([, value]) => value !== undefined && value !== ''))
  const result = EnvSchema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.map(String).join('.').replace(/\.\d+$/, '')
      return `  - ${name}: ${issue.message}`
    })
    throw new ConfigError(`Invalid configuration:\n${[...new Set(problems)].join('\n')}`)
  }
  return result.data
}
