/** Configuration: defaults, parsing of lists, and one clear message per invalid variable. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parse } from 'dotenv'
import { EnvSchema, loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'

describe('loadConfig', () => {
  test('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({})
    assert.equal(config.PORT, 3000)
    assert.equal(config.HOST, '0.0.0.0')
    assert.equal(config.DATABASE_PATH, './data/bridge.sqlite')
    assert.equal(config.LOG_LEVEL, 'info')
    assert.equal(config.WEBHOOK_BODY_LIMIT_BYTES, 1024 * 1024)
    assert.equal(config.TRUST_PROXY, false)
    assert.deepEqual(config.GUPY_WEBHOOK_SECRETS, [])
    assert.deepEqual(config.GUPY_ALLOWED_IPS, [])
    assert.equal(config.RUBEUS_FEED_AUTH, 'bearer')
    assert.equal(config.FEED_BATCH_SIZE, 1000)
    assert.equal(config.FEED_SETTLE_SECONDS, 60)
    assert.equal(config.TIMEZONE, 'America/Sao_Paulo')
    assert.equal(config.RUBEUS_BASE_LEGAL, undefined)
    assert.equal(config.MAPPING_FILE, undefined)
  })

  test('treats empty and blank values as unset', () => {
    const config = loadConfig({ PORT: '', LOG_LEVEL: '   ', GUPY_WEBHOOK_SECRETS: '' })
    assert.equal(config.PORT, 3000)
    assert.equal(config.LOG_LEVEL, 'info')
    assert.deepEqual(config.GUPY_WEBHOOK_SECRETS, [])
  })

  test('splits and trims comma-separated secrets and addresses', () => {
    const config = loadConfig({
      GUPY_WEBHOOK_SECRETS: ' first-secret-0123456789 , second-secret-0123456789,',
      GUPY_ALLOWED_IPS: '3.225.75.195, 10.0.0.0/8,2001:db8::/32'
    })
    assert.deepEqual(config.GUPY_WEBHOOK_SECRETS, ['first-secret-0123456789', 'second-secret-0123456789'])
    assert.deepEqual(config.GUPY_ALLOWED_IPS, ['3.225.75.195', '10.0.0.0/8', '2001:db8::/32'])
  })

  test('reads TRUST_PROXY as a boolean, a hop count or a list of proxies', () => {
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true)
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY, false)
    assert.equal(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY, true)
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2)
    assert.deepEqual(loadConfig({ TRUST_PROXY: '172.16.0.0/12,127.0.0.1' }).TRUST_PROXY, ['172.16.0.0/12', '127.0.0.1'])
  })

  test('lists every invalid variable in one error, without echoing secret values', () => {
    let error: unknown
    try {
      loadConfig({
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        GUPY_WEBHOOK_SECRETS: 'short',
        GUPY_ALLOWED_IPS: '10.0.0.0/99',
        TRUST_PROXY: 'maybe',
        WEBHOOK_BODY_LIMIT_BYTES: '-1'
      })
    } catch (err) {
      error = err
    }
    assert.ok(error instanceof ConfigError)
    const lines = error.message.split('\n')
    assert.equal(lines[0], 'Invalid configuration:')
    for (const name of ['PORT', 'LOG_LEVEL', 'GUPY_WEBHOOK_SECRETS', 'GUPY_ALLOWED_IPS', 'TRUST_PROXY', 'WEBHOOK_BODY_LIMIT_BYTES']) {
      assert.equal(lines.filter((l) => l.startsWith(`  - ${name}: `)).length, 1, `one line for ${name}`)
    }
    assert.equal(lines.length, 7)
    assert.doesNotMatch(error.message, /short/)
    assert.match(error.message, /"10\.0\.0\.0\/99" is not an IP address or CIDR range/)
  })

  test('rejects a port out of range and a body limit above 100 MiB', () => {
    assert.throws(() => loadConfig({ PORT: '70000' }), /PORT/)
    assert.throws(() => loadConfig({ WEBHOOK_BODY_LIMIT_BYTES: String(200 * 1024 * 1024) }), /WEBHOOK_BODY_LIMIT_BYTES/)
  })

  test('feed settings: batch size at most 1000, a real time zone, numeric Rubeus ids, Basic needs its credentials', () => {
    const error = (env: Record<string, string>) => {
      try {
        loadConfig(env)
      } catch (err) {
        return (err as Error).message
      }
      assert.fail('expected a configuration error')
    }
    assert.match(error({ FEED_BATCH_SIZE: '1001' }), /FEED_BATCH_SIZE: Rubeus accepts at most 1000 records per call/)
    assert.match(error({ TIMEZONE: 'Brasil/Mars' }), /TIMEZONE: must be an IANA time zone/)
    assert.match(error({ RUBEUS_BASE_LEGAL: 'consentimento', RUBEUS_ORIGEM: '2a' }), /RUBEUS_BASE_LEGAL: .*\n {2}- RUBEUS_ORIGEM: /)
    const basic = error({ RUBEUS_FEED_AUTH: 'basic' })
    assert.match(basic, /RUBEUS_FEED_BASIC_USER: is required when RUBEUS_FEED_AUTH=basic/)
    assert.match(basic, /RUBEUS_FEED_BASIC_PASSWORD: is required when RUBEUS_FEED_AUTH=basic/)
    const ok = loadConfig({ RUBEUS_FEED_AUTH: 'basic', RUBEUS_FEED_BASIC_USER: 'rubeus', RUBEUS_FEED_BASIC_PASSWORD: 'p'.repeat(16), FEED_SETTLE_SECONDS: '0' })
    assert.equal(ok.FEED_SETTLE_SECONDS, 0)
    assert.doesNotMatch(error({ RUBEUS_FEED_AUTH: 'basic', RUBEUS_FEED_BASIC_USER: 'rubeus', RUBEUS_FEED_BASIC_PASSWORD: 'short-pass' }), /short-pass/)
  })

  test('.env.example and the README document every variable, and .env.example loads as it is', () => {
    const example = parse(readFileSync(new URL('../.env.example', import.meta.url)))
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const names = Object.keys(EnvSchema.shape).sort()
    assert.deepEqual(Object.keys(example).sort(), names)
    for (const name of names) assert.ok(readme.includes(`\`${name}\``), `README names ${name}`)
    assert.doesNotThrow(() => loadConfig(example))
  })
})
