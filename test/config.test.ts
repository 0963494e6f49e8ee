/** Configuration: defaults, parsing of lists, and one clear message per invalid variable. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../src/config.js'

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
})
