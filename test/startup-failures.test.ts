/**
 * Start-up failures as an operator meets them: each is one JSON line (no stack) naming the file,
 * folder or port and what to do, and exit code 1. A damaged database is refused before anything
 * is written to it.
 */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../src/app.js'
import { acquireServiceLock } from '../src/store/service-lock.js'
import { FEED_TOKEN, SECRET, cli, damageOnDisk, delivery, spawnBridge, startService, tempDir, testConfig } from './helper.js'
import { tmpfs } from './system-tools.js'

const service = (databasePath: string, extra: Record<string, string> = {}) => ({
  DATABASE_PATH: databasePath, GUPY_WEBHOOK_SECRETS: SECRET, RUBEUS_FEED_TOKENS: FEED_TOKEN, CONSOLE_PASSWORD: 'console-password-0123456789', LOG_LEVEL: 'warn', ...extra
})

/** Starts the service, expects it to fail; returns its one line, parsed. */
async function failedStart (t: TestContext, env: Record<string, string>): Promise<{ msg: string, level: number } & Record<string, unknown>> {
  const run = spawnBridge(t, 'server', [], { env: { HOST: '127.0.0.1', PORT: '0', ...env } })
  const exit = await run.exited
  const output = (run.stdout() + run.stderr()).trim()
  assert.equal(exit.code, 1, output)
  const lines = output.split('\n')
  assert.equal(lines.length, 1, `one line:\n${output}`)
  const line = JSON.parse(lines[0]!) as { msg: string, level: number } & Record<string, unknown>
  assert.equal(line.level, 60)
  assert.equal(line.err, undefined, 'no error object, no stack')
  return line
}

const fingerprint = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

/**
 * A folder this process cannot write into: read-only permissions, or (as root, whom they do not
 * stop) a read-only mount. Removed after the test, unmounted first.
 */
function readOnlyFolder (t: TestContext): string | undefined {
  const folder = mkdtempSync(join(tmpdir(), 'bridge-readonly-'))
  if (process.getuid?.() !== 0) {
    chmodSync(folder, 0o555)
    t.after(() => {
      chmodSync(folder, 0o755)
      rmSync(folder, { recursive: true, force: true })
    })
    return folder
  }
  rmSync(folder, { recursive: true, force: true })
  return tmpfs(t, 'ro,size=1m')
}

describe('start-up failures', () => {
  test('a database file damaged on disk is refused with one line naming it and the next step, untouched; restored from a backup, the service starts', async (t) => {
    const dir = tempDir(t)
    const db = join(dir, 'bridge.sqlite')
    const running = await startService(t, service(db))
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${running.url}/webhooks/gupy`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: JSON.stringify(delivery()) })
      assert.equal(res.status, 200)
    }
    const backup = join(dir, 'backup.sqlite')
    assert.equal((await cli(['backup', backup], service(db))).code, 0)
    assert.equal((await running.stop('SIGTERM')).code, 0)
    damageOnDisk(db)
    const damaged = fingerprint(db)

    const line = await failedStart(t, service(db))
    assert.equal(line.msg, `${db} is damaged; the service does not start on it: restore a backup (gupy-rubeus-bridge restore <backup file>; README, "Disaster recovery")`)
    assert.equal(line.file, db)
    assert.equal(fingerprint(db), damaged, 'nothing was written to the damaged file')
    assert.ok(!existsSync(`${db}-wal`) || statSync(`${db}-wal`).size === 0)

    const restored = await cli(['restore', backup], service(db))
    assert.equal(restored.code, 0, restored.stderr)
    const again = await startService(t, service(db))
    const ready = await fetch(`${again.url}/readyz`)
    assert.equal(ready.status, 200)
  })

  test('a file that is no database: one line naming it', async (t) => {
    const dir = tempDir(t)
    const file = join(dir, 'notes.sqlite')
    writeFileSync(file, 'these are notes, not a database; DATABASE_PATH points at the wrong file\n'.repeat(30))
    const line = await failedStart(t, service(file))
    assert.equal(line.msg, `${file} is not a SQLite database: check DATABASE_PATH, or restore a backup there (gupy-rubeus-bridge restore <backup file>; README, "Disaster recovery")`)
    assert.equal(line.code, 'SQLITE_NOTADB')
  })

  test('a read-only folder: one line naming the folder, whether the secrets or the database are written first', async (t) => {
    const folder = readOnlyFolder(t)
    if (folder === undefined) return t.skip('this process may not mount a read-only file system, and permissions do not stop it')
    const db = join(folder, 'bridge.sqlite')
    const line = await failedStart(t, service(db))
    assert.match(line.msg, new RegExp(`^cannot create or write ${db}\\.lock: its folder ${folder} must exist and be writable by this user`))
    // Without configured secrets, the generated-secrets file is written first.
    const secrets = await failedStart(t, { DATABASE_PATH: db, LOG_LEVEL: 'warn' })
    assert.match(secrets.msg, new RegExp(`^cannot create or write ${folder}/bridge-secrets\\.json\\S*: its folder ${folder} must exist and be writable`))
  })

  test('a file where the database folder should be: one line naming it', async (t) => {
    const dir = tempDir(t)
    const file = join(dir, 'data')
    writeFileSync(file, '')
    const line = await failedStart(t, service(join(file, 'bridge.sqlite')))
    assert.equal(line.msg, `${file} is a file where a folder is needed: check DATABASE_PATH`)
  })

  test('a port in use: one line naming it; the database is closed cleanly first', async (t) => {
    const dir = tempDir(t)
    const db = join(dir, 'bridge.sqlite')
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    t.after(() => taken.close())
    const { port } = taken.address() as { port: number }
    const line = await failedStart(t, service(db, { PORT: String(port) }))
    assert.equal(line.msg, `port ${port} is already in use (127.0.0.1:${port}): stop what listens there, or set PORT to a free port`)
    assert.equal(line.port, port)
    assert.ok(!existsSync(`${db}-wal`) || statSync(`${db}-wal`).size === 0, 'the WAL was checkpointed by a clean close')
  })

  test('a second service waits for the first longer than the ten seconds Fastify gives a plugin by default', async (t) => {
    const dir = tempDir(t)
    const config = testConfig(dir)
    const first = await acquireServiceLock(config.DATABASE_PATH)
    let released = false
    let readyWhileHeld = false
    const starting = buildApp({ config }).then(async (app) => {
      await app.ready()
      readyWhileHeld = !released
      return app
    })
    await sleep(11_000)
    released = true
    first.release()
    const app = await starting
    t.after(() => app.close())
    assert.equal(readyWhileHeld, false, 'it did not start while the first one held the database')
    assert.deepEqual((await app.inject('/readyz')).json(), { status: 'ready' })
  })
})
