/**
 * Tests never touch production: an operator's settings, in the environment of whoever runs
 * `npm test` and in a `.env` of the folder they run it from, reach no service or command a test
 * starts. Every outside address points at a local tripwire that records what reaches it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { copyFileSync, existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { FEED_TOKEN, SECRET, cli, delivery, spawnBridge, startService, tempDir } from './helper.js'

test('with an operator\'s Gupy token, addresses and database in the environment and in ./.env, spawned services and commands reach none of them', async (t) => {
  const hits: string[] = []
  const tripwire = createServer((req, res) => {
    hits.push(`${req.method ?? ''} ${req.url ?? ''}`)
    res.writeHead(500).end()
  }).listen(0, '127.0.0.1')
  await once(tripwire, 'listening')
  t.after(() => tripwire.close())
  const outside = `http://127.0.0.1:${(tripwire.address() as { port: number }).port}`

  const operatorDir = tempDir(t)
  const operatorDatabase = join(operatorDir, 'operator.sqlite')
  copyFileSync(new URL('../mapping.example.json', import.meta.url), join(operatorDir, 'operator-mapping.json'))
  const operator: Record<string, string> = {
    GUPY_API_URL: outside,
    GUPY_API_TOKEN: 'gupy-production-token-7f3a9c2e51b84d06',
    PUBLIC_URL: 'https://bridge.company.example',
    GUPY_TECH_OWNER_NAME: 'Operator',
    GUPY_TECH_OWNER_EMAIL: 'operator@company.example',
    GUPY_WATCH_MINUTES: '1',
    GUPY_RECONCILE_MINUTES: '1',
    DATABASE_PATH: operatorDatabase,
    MAPPING_FILE: join(operatorDir, 'operator-mapping.json'),
    RETENTION_DAYS: '1',
    RUBEUS_API_URL: outside,
    ALERT_WEBHOOK_URL: `${outside}/alerts`
  }
  writeFileSync(join(operatorDir, '.env'), Object.entries(operator).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')

  // The developer's shell: the operator's variables exported, `npm test` run from the folder with the .env.
  const saved = { cwd: process.cwd(), env: Object.fromEntries(Object.keys(operator).map((key) => [key, process.env[key]])) }
  t.after(() => {
    process.chdir(saved.cwd)
    for (const key of Object.keys(operator)) {
      if (saved.env[key] === undefined) delete process.env[key]
      else process.env[key] = saved.env[key]
    }
  })
  Object.assign(process.env, operator)
  process.chdir(operatorDir)

  const dir = tempDir(t)
  const env = { DATABASE_PATH: join(dir, 'bridge.sqlite'), GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, LOG_LEVEL: 'warn' }
  const service = await startService(t, env)
  const posted = await request(`${service.url}/webhooks/gupy`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: JSON.stringify(delivery()) })
  assert.equal(posted.statusCode, 200, await posted.body.text())
  for (const command of [['register-webhooks'], ['check-webhooks'], ['reconcile'], ['import', '--dry-run']]) {
    const run = await cli(command, { DATABASE_PATH: env.DATABASE_PATH })
    assert.equal(run.code, 2, `${command[0]!}: without its own settings it stops at its usage: ${run.stderr}`)
    assert.match(run.stderr, /GUPY_API_TOKEN|PUBLIC_URL/)
  }
  const rubeus = await cli(['check-rubeus'], { DATABASE_PATH: env.DATABASE_PATH })
  assert.equal(rubeus.code, 2, `check-rubeus: without its own settings it stops at its usage: ${rubeus.stderr}`)
  assert.match(rubeus.stderr, /RUBEUS_API_URL/)
  assert.equal((await cli(['status'], { DATABASE_PATH: env.DATABASE_PATH })).code, 0)
  await sleep(1000) // a watchdog or reconciliation would have asked at start-up by now
  assert.deepEqual((await service.stop('SIGTERM')).code, 0)
  assert.equal(hits.length, 0, `nothing reached the operator's addresses: ${hits.join(', ')}`)
  assert.ok(!existsSync(operatorDatabase), 'the operator\'s database was never opened')

  // The tripwire works: the same service started the way an operator does reads the .env and asks Gupy.
  const operatorRun = spawnBridge(t, 'server', [], { cwd: operatorDir, env: { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' } })
  for (let waited = 0; hits.length === 0 && waited < 30_000; waited += 100) await sleep(100)
  await operatorRun.stop('SIGTERM')
  assert.ok(hits.some((hit) => hit.startsWith('GET /api/v1/webhooks')), `the operator's service asked the configured Gupy API: ${hits.join(', ')}`)
})
