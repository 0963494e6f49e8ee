/** The process: environment → configuration → secrets → app → listen; graceful shutdown on signals. */
import closeWithGrace from 'close-with-grace'
import { config as loadDotenv } from 'dotenv'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { loadMapping } from './mapping/mapping-file.js'
import { ensureSecrets } from './secrets-file.js'

loadDotenv({ quiet: true })

let config, mapping
try {
  config = loadConfig(process.env)
  mapping = loadMapping(config.MAPPING_FILE)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(1)
}

const logger = createLogger(config.LOG_LEVEL)
const secrets = ensureSecrets(config)
if (secrets.file !== undefined) {
  logger.info({ file: secrets.file, generated: secrets.generated },
    secrets.generated.length > 0 ? 'generated missing secrets into the secrets file' : 'using secrets from the secrets file')
}

const app = await buildApp({ config: secrets.config, logger, mapping })

closeWithGrace({ delay: 10_000, logger }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'shutting down after an error')
  else logger.info({ signal }, 'shutting down')
  await app.close()
})

await app.listen({ port: config.PORT, host: config.HOST })
