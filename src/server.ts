/** The process: environment → configuration → secrets → app → listen; graceful shutdown on signals. */
import closeWithGrace from 'close-with-grace'
import { config as loadDotenv } from 'dotenv'
import { buildApp, type App } from './app.js'
import { loadConfig, type Config } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { loadMapping, type Mapping } from './mapping/mapping-file.js'
import { ensureSecrets } from './secrets-file.js'
import { STARTUP_WAIT_MS } from './store/plugin.js'
import { isBusy, sqliteCode } from './store/sqlite.js'

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

/** Start-up failures an operator can act on, said in one JSON line; anything else is logged with its error. */
function startupFailure (err: unknown): never {
  const code = sqliteCode(err) ?? (err as NodeJS.ErrnoException).code
  const databasePath = config.DATABASE_PATH
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    logger.fatal({ code, databasePath }, 'the disk holding the database is full: free space, then start again')
  } else if (isBusy(err)) {
    logger.fatal({ code, databasePath, waitedSeconds: STARTUP_WAIT_MS / 1000 },
      'the database stayed locked by another connection: let the operator command holding it finish, then start again')
  } else {
    logger.fatal({ err }, 'start-up failed')
  }
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

await app.listen({ port: config.PORT, host: config.HOST })
