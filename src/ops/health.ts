/** Liveness and readiness probes. */
import type { FastifyPluginAsync } from 'fastify'
import { loadMigrations, schemaVersion } from '../store/migrate.js'

const health: FastifyPluginAsync = async (app) => {
  const expectedVersion = loadMigrations().at(-1)?.version ?? 0
  let closing = false
  app.addHook('preClose', async () => { closing = true })

  /** GET /healthz — the process is up and answering. */
  app.get('/healthz', async () => ({ status: 'ok' }))

  /** GET /readyz — the database answers and its schema is current; 503 otherwise. */
  app.get('/readyz', async (_request, reply) => {
    const problems: string[] = []
    if (closing) problems.push('shutting down')
    try {
      const version = schemaVersion(app.store.db)
      if (version !== expectedVersion) problems.push(`schema version ${version}, expected ${expectedVersion}`)
    } catch {
      problems.push('database unavailable')
    }
    if (problems.length > 0) return reply.code(503).send({ status: 'unavailable', problems })
    return { status: 'ready' }
  })
}

export default health
