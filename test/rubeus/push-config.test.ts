/**
 * The configuration of Rubeus's CRM API: its defaults, and push delivery without its variables
 * stopping start-up with one line naming each, through loadConfig and through the real service.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'
import { spawnBridge, tempDir } from '../helper.js'

const TOKEN = 'rubeus-channel-token-5f0c2a9e7b1d'
const PUSH = { RUBEUS_DELIVERY: 'push', RUBEUS_API_URL: 'https://crmexemplo.apprubeus.com.br', RUBEUS_API_TOKEN: TOKEN, RUBEUS_ORIGEM: '7' }

function problems (env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    const [first, ...lines] = err.message.split('\n')
    assert.equal(first, 'Invalid configuration:')
    return lines
  }
  assert.fail('expected a configuration error')
}

describe('Rubeus\'s CRM API configuration', () => {
  test('defaults: pull delivery, 120 requests a minute, 30 s per answer, no address or token', () => {
    const config = loadConfig({})
    assert.equal(config.RUBEUS_DELIVERY, 'pull')
    assert.equal(config.RUBEUS_API_REQUESTS_PER_MINUTE, 120)
    assert.equal(config.RUBEUS_API_TIMEOUT_SECONDS, 30)
    assert.equal(config.RUBEUS_API_URL, undefined)
    assert.equal(config.RUBEUS_API_TOKEN, undefined)
  })

  test('push with its variables loads; the address loses its trailing slash; http is accepted for a local stand-in', () => {
    const config = loadConfig({ ...PUSH, RUBEUS_API_URL: 'https://crmexemplo.apprubeus.com.br/', RUBEUS_API_REQUESTS_PER_MINUTE: '60', RUBEUS_API_TIMEOUT_SECONDS: '10' })
    assert.equal(config.RUBEUS_DELIVERY, 'push')
    assert.equal(config.RUBEUS_API_URL, 'https://crmexemplo.apprubeus.com.br')
    assert.equal(config.RUBEUS_API_TOKEN, TOKEN)
    assert.equal(config.RUBEUS_API_REQUESTS_PER_MINUTE, 60)
    assert.equal(loadConfig({ ...PUSH, RUBEUS_API_URL: 'http://127.0.0.1:8080' }).RUBEUS_API_URL, 'http://127.0.0.1:8080')
  })

  test('push without its variables: one line naming each, alongside any other mistake', () => {
    assert.deepEqual(problems({ RUBEUS_DELIVERY: 'push' }), [
      '  - RUBEUS_API_URL: is required when RUBEUS_DELIVERY=push',
      '  - RUBEUS_API_TOKEN: is required when RUBEUS_DELIVERY=push',
      '  - RUBEUS_ORIGEM: is required when RUBEUS_DELIVERY=push'
    ])
    assert.deepEqual(problems({ RUBEUS_DELIVERY: 'push', RUBEUS_API_TOKEN: TOKEN, PORT: 'abc' }), [
      '  - PORT: Invalid input: expected number, received NaN',
      '  - RUBEUS_API_URL: is required when RUBEUS_DELIVERY=push',
      '  - RUBEUS_ORIGEM: is required when RUBEUS_DELIVERY=push'
    ])
  })

  test('a wrong value is named once, never as missing too; the token is never echoed', () => {
    const lines = problems({ ...PUSH, RUBEUS_API_URL: `ftp://crm.example.com/${TOKEN}`, RUBEUS_ORIGEM: 'dois' })
    assert.equal(lines.length, 2, lines.join('\n'))
    assert.match(lines[0]!, /^ {2}- RUBEUS_ORIGEM: must be the numeric id/)
    assert.match(lines[1]!, /^ {2}- RUBEUS_API_URL: must be an http\(s\) URL/)
    assert.ok(!lines.join('\n').includes(TOKEN))
    assert.deepEqual(problems({ ...PUSH, RUBEUS_API_URL: 'https://crm.example.com/api/' }),
      ['  - RUBEUS_API_URL: must be the CRM\'s address without /api (the bridge appends /api/<Method>)'])
    assert.deepEqual(problems({ ...PUSH, RUBEUS_API_URL: 'https://crm.example.com/?token=x' }),
      ['  - RUBEUS_API_URL: must be the CRM\'s address without a query or fragment'])
    assert.deepEqual(problems({ RUBEUS_DELIVERY: 'poll' }), ['  - RUBEUS_DELIVERY: Invalid option: expected one of "pull"|"push"'])
    assert.match(problems({ RUBEUS_API_REQUESTS_PER_MINUTE: '0', RUBEUS_API_TIMEOUT_SECONDS: '601' }).join('\n'),
      /RUBEUS_API_REQUESTS_PER_MINUTE: .*\n {2}- RUBEUS_API_TIMEOUT_SECONDS: /)
  })

  test('the real service in push mode without its variables stops start-up with one line naming each, and creates nothing', async (t) => {
    const dir = tempDir(t)
    const service = spawnBridge(t, 'server', [], {
      env: { HOST: '127.0.0.1', PORT: '0', DATABASE_PATH: join(dir, 'data', 'bridge.sqlite'), RUBEUS_DELIVERY: 'push', RUBEUS_API_TOKEN: TOKEN }
    })
    const exit = await service.exited
    assert.equal(exit.code, 1, service.stderr())
    assert.deepEqual(service.stderr().trimEnd().split('\n'), [
      'Invalid configuration:',
      '  - RUBEUS_API_URL: is required when RUBEUS_DELIVERY=push',
      '  - RUBEUS_ORIGEM: is required when RUBEUS_DELIVERY=push'
    ])
    assert.equal(service.stdout(), '')
    assert.ok(!existsSync(join(dir, 'data')), 'no database or secrets file')
  })
})
