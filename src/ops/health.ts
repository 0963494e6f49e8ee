/** Liveness and readiness probes. */
import type { FastifyPluginAsync } from 'fastify'
import { loadMigrations } from '../store/migrate.js'

const health: FastifyPluginAsync = async (app) => {
  const expectedVersion = loadMigrations().at(-1)?.version ?? 0
  // Prepared once: readiness is polled often, and statements are best not left to the GC.
  const userVersion = app.store.db.prepare('PRAGMA user_version').pluck()

  /** GET /healthz — the process is up and answering. */
  app.get('/healthz', async () => ({ status: 'ok' }))

  /** GET /readyz — the database answers, its schema is current, the last write succeeded and no damage was met; 503 otherwise. */
  app.get('/readyz', async (_request, reply) => {
    const { writes } = app.store
    const problems: string[] = []
    if (writes.damaged === undefined) { // a damaged file is not read
      try {
        const version = userVersion.get() as number
        if (version !== expectedVersion) problems.push(`schema version ${version}, expected ${expectedVersion}`)
      } catch (err) {
        writes.report(err)
        if (writes.damaged === undefined) problems.push('database unavailable')
      }
    }
    if (writes.damaged !== undefined) problems.push(`the database file is damaged (${writes.damaged}): nothing is read from it nor written to it; stop the service and restore a backup`)
    if (writes.failure !== undefined) problems.push(`the database cannot be written (${writes.failure}); ready again once a write succeeds`)
    if (problems.length > 0) return reply.code(503).send({ status: 'unavailable', problems })
    return { status: 'ready' }
  })
}

export default health
