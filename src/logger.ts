/** pino options: JSON lines, credentials and bodies redacted wherever they could appear. */
import type { LoggerOptions } from 'pino'

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.body',
  'res.body',
  'body',
  'rawBody',
  'payload'
]

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    base: { service: 'gupy-rubeus-bridge' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`
  }
}
