/** The operator command line, run as a real process. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { buildTestApp, cli, delivery, postDelivery, tempDir } from './helper.js'

describe('gupy-rubeus-bridge', () => {
  test('status reports deliveries by state and the last arrival', async (t) => {
    const { app, config } = await buildTestApp(t)
    await postDelivery(app, delivery())
    await postDelivery(app, delivery({ event: 'application.moved' }))
    await postDelivery(app, delivery({ event: 'job.published' }))
    await postDelivery(app, delivery({ data: { candidate: { name: 'No Key' } } }))
    app.mapper.catchUp()
    const json = await cli(['status', '--json'], { DATABASE_PATH: config.DATABASE_PATH })
    assert.equal(json.code, 0, json.stderr)
    const report = JSON.parse(json.stdout)
    assert.deepEqual(report.deliveries, { received: 0, mapped: 2, failed: 1, ignored: 1 })
    assert.ok(Date.now() - Date.parse(report.lastReceivedAt) < 60_000)
    const text = await cli(['status'], { DATABASE_PATH: config.DATABASE_PATH })
    assert.match(text.stdout, /deliveries: 4\n/)
    assert.match(text.stdout, /last delivery received: \S+ \(\d+ s ago\)/)
  })

  test('status on a missing database fails with a clear message', async (t) => {
    const res = await cli(['status'], { DATABASE_PATH: join(tempDir(t), 'none.sqlite') })
    assert.equal(res.code, 1)
    assert.match(res.stderr, /no database at .*none\.sqlite/)
  })

  test('--help lists the commands; an unknown command exits 2', async () => {
    const help = await cli(['--help'], {})
    assert.equal(help.code, 0)
    assert.match(help.stdout, /status/)
    assert.match((await cli(['status', '--help'], {})).stdout, /usage: gupy-rubeus-bridge status/)
    const unknown = await cli(['frobnicate'], {})
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown command "frobnicate"/)
  })

  test('invalid configuration is reported before any command runs', async () => {
    const res = await cli(['status'], { LOG_LEVEL: 'loud' })
    assert.equal(res.code, 1)
    assert.match(res.stderr, /Invalid configuration:\n {2}- LOG_LEVEL: /)
  })
})
