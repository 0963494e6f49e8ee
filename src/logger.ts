/** pino options: JSON lines, credentials and bodies redacted wherever they could appear. */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'

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

/**
 * The service's logger. Lines are written asynchronously in 4 KiB chunks (flushed on exit) so that
 * logging costs no system call per request; tests pass their own stream.
 */
export function createLogger (level: string, stream?: DestinationStream): Logger {
  return pino(loggerOptions(level), stream ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }))
}
