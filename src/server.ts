/** The process: environment → configuration → secrets → app → listen; graceful shutdown on signals. */
import { statSync } from 'node:fs'
import { dirname } from 'node:path'
import closeWithGrace from 'close-with-grace'
import { config as loadDotenv } from 'dotenv'
import { buildApp, type App } from './app.js'
import { loadConfig, type Config } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { loadMapping, type Mapping } from './mapping/mapping-file.js'
import { ensureSecrets } from './secrets-file.js'
import { STARTUP_WAIT_MS } from './store/contention.js'
import { isBusy, isDamage, sqliteCode } from './store/sqlite.js'

loadDotenv({ quiet: true })

let config: Config, mapping: Mapping
try {
  config = loadConfig(process.env)
  mapping = loadMapping(config.MAPPING_FILE)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(1)
}

const logger = createLogger(config.LOG_LEVEL)

const isFolder = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true

/** Why start-up failed, as one sentence naming the file, folder or port, and what to do next. */
function whatFailed (err: unknown): { msg: string, fields: Record<string, unknown> } | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number, address?: string }
  const code = sqliteCode(err) ?? e.code
  if (e.syscall === 'listen') {
    const where = `${e.address ?? config.HOST}:${e.port ?? config.PORT}`
    const fields = { code, host: config.HOST, port: config.PORT }
    if (code === 'EADDRINUSE') return { fields, msg: `port ${config.PORT} is already in use (${where}): stop what listens there, or set PORT to a free port` }
    if (code === 'EACCES') return { fields, msg: `no permission to listen on port ${config.PORT} (${where}): ports below 1024 need privileges; set PORT to 1024 or above` }
    if (code === 'EADDRNOTAVAIL') return { fields, msg: `cannot listen on ${where}: HOST is not an address of this machine; set HOST (0.0.0.0 for every address)` }
    return { fields, msg: `cannot listen on ${where} (${code ?? 'error'})` }
  }
  const file = e.path ?? config.DATABASE_PATH
  const fields = { code, file }
  if (err instanceof ConfigError) return { fields: {}, msg: err.message }
  if (code === 'SQLITE_NOTADB') {
    return { fields, msg: `${file} is not a SQLite database: check DATABASE_PATH, or restore a backup there (gupy-rubeus-bridge restore <backup file>; README, "Disaster recovery")` }
  }
  if (isDamage(err)) {
    return { fields: { ...fields, detail: e.message }, msg: `${file} is damaged; the service does not start on it: restore a backup (gupy-rubeus-bridge restore <backup file>; README, "Disaster recovery")` }
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return { fields, msg: `the disk holding the database is full (${dirname(file)}): free space, then start again` }
  if (isBusy(err)) {
    return {
      fields: { ...fields, waitedSeconds: STARTUP_WAIT_MS / 1000 },
      msg: `${file} stayed locked by another connection: let the operator command holding it finish, then start again`
    }
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') return { fields, msg: `${file} is a file where a folder is needed: check DATABASE_PATH` }
  if (code === 'EISDIR' || (code === 'SQLITE_CANTOPEN' && isFolder(file))) return { fields, msg: `${file} is a folder where a file is needed: check DATABASE_PATH` }
  if (code !== undefined && /^(EACCES|EPERM|EROFS|ENOENT|SQLITE_(CANTOPEN|READONLY|PERM|AUTH))/.test(code)) {
    return { fields, msg: `cannot create or write ${file}: its folder ${dirname(file)} must exist and be writable by this user (the database's -wal, -shm and .lock files and the generated secrets go there)` }
  }
  return undefined
}

/** Every start-up failure is one JSON line; an unforeseen one keeps its error (and stack) for whoever fixes it. */
function startupFailure (err: unknown): never {
  const known = whatFailed(err)
  if (known !== undefined) logger.fatal(known.fields, known.msg)
  else logger.fatal({ err }, `start-up failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
}

let app: App
try {
  const secrets = ensureSecrets(config)
  if (secrets.file !== undefined) {
    logger.info({ file: secrets.file, generated: secrets.generated },
      secrets.generated.length > 0 ? 'generated missing secrets into the secrets file' : 'using secrets from the secrets file')
  }
  app = await buildApp({ config: secrets.config, logger, mapping })
} catch (err) {
  startupFailure(err)
}

closeWithGrace({ delay: 10_000, logger }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'shutting down after an error')
  else logger.info({ signal }, 'shutting down')
  await app.close()
})

try {
  await app.listen({ port: config.PORT, host: config.HOST })
} catch (err) {
  await app.close().catch(() => {}) // the database closed cleanly and the lock released before exiting
  startupFailure(err)
}
