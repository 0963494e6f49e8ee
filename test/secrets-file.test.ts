/** Generated secrets: created once with mode 0600 beside the database, reused, never overriding the environment. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config.js'
import { ensureSecrets, secretsFilePath } from '../src/secrets-file.js'
import { tempDir } from './helper.js'

describe('ensureSecrets', () => {
  test('generates every secret once into a 0600 file and reuses them on the next start', (t) => {
    const dir = tempDir(t)
    const config = loadConfig({ DATABASE_PATH: join(dir, 'db', 'bridge.sqlite') })
    const first = ensureSecrets(config)
    assert.equal(first.file, join(dir, 'db', 'bridge-secrets.json'))
    assert.deepEqual(first.generated, ['GUPY_WEBHOOK_SECRETS', 'RUBEUS_FEED_TOKENS', 'CONSOLE_PASSWORD'])
    assert.equal(statSync(first.file).mode & 0o777, 0o600)
    const [secret] = first.config.GUPY_WEBHOOK_SECRETS
    const [token] = first.config.RUBEUS_FEED_TOKENS
    assert.ok(secret !== undefined && secret.length >= 32)
    assert.ok(token !== undefined && token.length >= 32 && token !== secret)
    const password = first.config.CONSOLE_PASSWORD
    assert.ok(typeof password === 'string' && password.length >= 32 && password !== secret && password !== token)
    const content = readFileSync(first.file, 'utf8')

    const second = ensureSecrets(config)
    assert.deepEqual(second.generated, [])
    assert.deepEqual(second.config.GUPY_WEBHOOK_SECRETS, [secret])
    assert.deepEqual(second.config.RUBEUS_FEED_TOKENS, [token])
    assert.equal(second.config.CONSOLE_PASSWORD, password)
    assert.equal(readFileSync(first.file, 'utf8'), content)
  })

  test('keeps values from the environment and generates only what is missing', (t) => {
    const dir = tempDir(t)
    const config = loadConfig({ DATABASE_PATH: join(dir, 'bridge.sqlite'), GUPY_WEBHOOK_SECRETS: 'from-the-environment-123' })
    const outcome = ensureSecrets(config)
    assert.deepEqual(outcome.generated, ['RUBEUS_FEED_TOKENS', 'CONSOLE_PASSWORD'])
    assert.deepEqual(outcome.config.GUPY_WEBHOOK_SECRETS, ['from-the-environment-123'])
    const stored = JSON.parse(readFileSync(secretsFilePath(config.DATABASE_PATH), 'utf8'))
    assert.deepEqual(Object.keys(stored), ['RUBEUS_FEED_TOKENS', 'CONSOLE_PASSWORD'])
  })

  test('touches no file when every secret is configured', (t) => {
    const dir = tempDir(t)
    const config = loadConfig({
      DATABASE_PATH: join(dir, 'bridge.sqlite'),
      GUPY_WEBHOOK_SECRETS: 'from-the-environment-123',
      RUBEUS_FEED_TOKENS: 'token-from-the-environment',
      CONSOLE_PASSWORD: 'console-password-from-the-env'
    })
    const outcome = ensureSecrets(config)
    assert.equal(outcome.file, undefined)
    assert.throws(() => statSync(secretsFilePath(config.DATABASE_PATH)), { code: 'ENOENT' })
  })
})
