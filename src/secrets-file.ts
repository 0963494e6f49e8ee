/** Secrets the operator did not set are generated once and kept in a 0600 file beside the database. */
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { GENERATED_SECRETS, type Config } from './config.js'
import { ConfigError } from './errors.js'

type SecretName = typeof GENERATED_SECRETS[number]
type Stored = Partial<Record<SecretName, string>>

export function secretsFilePath (databasePath: string): string {
  const dir = databasePath === ':memory:' ? '.' : dirname(databasePath)
  return resolve(join(dir, 'bridge-secrets.json'))
}

function readStored (file: string): Stored {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw err
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not the parser's message: it quotes the text, which holds secrets.
    throw new ConfigError(`${file} is not valid JSON: fix it (or set its secrets in the environment)`)
  }
  if (parsed === null || typeof parsed !== 'object') throw new ConfigError(`${file} is not a JSON object: fix it (or set its secrets in the environment)`)
  const stored: Stored = {}
  for (const name of GENERATED_SECRETS) {
    const value = (parsed as Record<string, unknown>)[name]
    if (typeof value === 'string' && value !== '') stored[name] = value
  }
  return stored
}

export interface SecretsOutcome {
  config: Config
  /** The file that holds generated secrets, when any secret came from it. */
  file?: string
  /** Names (never values) of the secrets created during this call. */
  generated: SecretName[]
}

/**
 * Fills every empty secret list from the secrets file, generating and saving the ones the file
 * lacks (unless `create` is false: operator commands only read it). Values set in the environment
 * always win and are never written to the file.
 */
export function ensureSecrets (config: Config, { create = true } = {}): SecretsOutcome {
  const missing = GENERATED_SECRETS.filter((name) => config[name] === undefined || config[name].length === 0)
  if (missing.length === 0) return { config, generated: [] }

  const file = secretsFilePath(config.DATABASE_PATH)
  const stored = readStored(file)
  const generated = create ? missing.filter((name) => stored[name] === undefined) : []
  for (const name of generated) stored[name] = randomBytes(32).toString('base64url')
  if (generated.length > 0) {
    mkdirSync(dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    try {
      writeFileSync(tmp, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 })
      chmodSync(tmp, 0o600) // `mode` only applies when the file is created
      renameSync(tmp, file)
    } catch (err) {
      rmSync(tmp, { force: true }) // a full disk: no half-written file left behind
      throw err
    }
  }

  const filled = { ...config }
  for (const name of missing) {
    const value = stored[name]
    if (name === 'CONSOLE_PASSWORD') filled[name] = value // one password, not a list
    else filled[name] = value === undefined ? [] : [value]
  }
  return { config: filled, file, generated }
}
