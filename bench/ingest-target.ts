/**
 * A benchmark target in its own process: `bridge` (the real app, durable SQLite, synchronous=FULL)
 * or `bare` (a Fastify route that parses the same body and answers without storing).
 * Prints `listening <port>` once ready.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import Fastify, { type FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { createLogger, logDestination } from '../src/logger.js'

const mode = process.argv[2]
let app

if (mode === 'bridge') {
  const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'bridge-bench-'))
  const config = loadConfig({
    DATABASE_PATH: join(dir, 'bridge.sqlite'),
    GUPY_WEBHOOK_SECRETS: 'bench-secret-0123456789',
    RUBEUS_FEED_TOKENS: 'bench-token-0123456789',
    CONSOLE_PASSWORD: 'bench-console-0123456789',
    FEED_SETTLE_SECONDS: process.env.FEED_SETTLE_SECONDS
  })
  // Production logging (one JSON line per request), written to a discarded stream.
  app = await buildApp({ config, logger: createLogger('info', logDestination('/dev/null')) })
} else if (mode === 'bare') {
  app = Fastify()
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => parseJson(request, body.toString(), done))
  app.post('/webhooks/gupy', async (request) => ({ status: 'accepted', id: (request.body as { id: string }).id }))
} else {
  throw new Error('usage: ingest-target.ts bridge|bare [dir]')
}

// The longest event-loop stall since the last reading (ms): the service's own blocking, apart from the network.
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
const target = app as FastifyInstance
target.get('/bench/loop', async () => {
  const maxMs = loop.max / 1e6
  loop.reset()
  return { maxMs }
})

// The process's CPU time so far (user + system, µs), for CPU per request between two readings.
target.get('/bench/cpu', async () => {
  const { user, system } = process.cpuUsage()
  return { micros: user + system }
})

await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
