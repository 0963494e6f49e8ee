/** Liveness and readiness probes. */
import type { FastifyPluginAsync } from 'fastify'
import { loadMigrations } from '../store/migrate.js'

const health: FastifyPluginAsync = async (app) => {
  const expectedVersion = loadMigrations().at(-1)?.version ?? 0
  // Prepared once: readiness is polled often, and statements are best not left to the GC.
  const userVersion = app.store.db.prepare('PRAGMA user_version').pluck()

  /** GET /healthz — the process is up and answering. */
  app.get('/healthz', async () => ({ status: 'ok' }))

  /** GET /readyz — the database answers, its schema is current and the last write succeeded; 503 otherwise. */
  app.get('/readyz', async (_request, reply) => {
    const problems: string[] = []
    try {
      const version = userVersion.get() as number
      if (version !== expectedVersion) problems.push(`schema version ${version}, expected ${expectedVersion}`)
    } catch {
      problems.push('database unavailable')
    }
    const failure = app.store.writes.failure
    if (failure !== undefined) problems.push(`the database cannot be written (${failure}); ready again once a write succeeds`)
    if (problems.length > 0) return reply.code(503).send({ status: 'unavailable', problems })
    return { status: 'ready' }
  })
}

export default health
