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

/** Log lines are written in chunks of about this size… */
const CHUNK_BYTES = 15 * 1024
/** …and at least this often, so that a quiet service's lines still appear within a second. */
const FLUSH_EVERY_MS = 1000

/**
 * Where the service's lines go (stdout by default). Lines are buffered and written with one
 * synchronous system call per chunk, without a round trip through the thread pool for each write;
 * what is buffered is written at least once a second and when the process exits.
 */
export function logDestination (dest: number | string = 1): ReturnType<typeof pino.destination> {
  const stream = pino.destination({ dest, sync: true, minLength: CHUNK_BYTES, periodicFlush: FLUSH_EVERY_MS })
  process.once('exit', () => {
    try {
      stream.flushSync()
    } catch {} // the output is already closed: nothing left to write to
  })
  return stream
}

/** The service's logger; tests pass their own stream. */
export function createLogger (level: string, stream?: DestinationStream): Logger {
  return pino(loggerOptions(level), stream ?? logDestination())
}
