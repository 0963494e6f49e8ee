/** The status report's sources: counts kept by triggers, back-filled by their migration, read without scanning the inbox. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { statusReport } from '../../src/ops/status-report.js'
import { openDatabase } from '../../src/store/database.js'
import { loadMigrations, migrate } from '../../src/store/migrate.js'
import { createRepositories } from '../../src/store/repositories.js'
import { buildTestApp, tempDir } from '../helper.js'
import { knownTraffic } from '../console/traffic.js'

const counted = (db: Database.Database) => Object.fromEntries(
  (db.prepare('SELECT state, count(*) AS n FROM deliveries GROUP BY state').all() as Array<{ state: string, n: number }>).map((r) => [r.state, r.n]))
const kept = (db: Database.Database) => Object.fromEntries(
  (db.prepare('SELECT state, n FROM delivery_counts WHERE n > 0').all() as Array<{ state: string, n: number }>).map((r) => [r.state, r.n]))

describe('status report sources', () => {
  test('the counts kept by triggers equal a count of the inbox through inserts, mapping, failures, requeues and deletes', async (t) => {
    const { app } = await buildTestApp(t)
    await knownTraffic(app)
    const { db, inbox } = app.store
    assert.deepEqual(kept(db), counted(db))
    assert.ok(inbox.requeue('all', 0, inbox.lastSeq(), 1000).length > 0)
    assert.deepEqual(kept(db), counted(db))
    db.prepare("DELETE FROM deliveries WHERE event_id = 'console-other'").run()
    assert.deepEqual(kept(db), counted(db))
    const hours = db.prepare('SELECT sum(n) FROM delivery_hours').pluck().get()
    assert.equal(hours, 9, 'every stored delivery counted in its hour (deletes leave the history)')
  })

  test('the migration back-fills counts and hours from deliveries stored before it', (t) => {
    const file = join(tempDir(t), 'old.sqlite')
    const all = loadMigrations()
    const before = all.slice(0, all.findIndex((m) => m.name.endsWith('_console.sql')))
    const db = new Database(file)
    t.after(() => db.close())
    migrate(db, before)
    const insert = db.prepare("INSERT INTO deliveries (event_id, event, event_date, received_at, state) VALUES (?, 'application.created', 0, ?, ?)")
    const hour = 3_600_000
    insert.run('a', 10 * hour + 5, 'mapped')
    insert.run('b', 10 * hour + 9, 'failed')
    insert.run('c', 12 * hour, 'ignored')
    migrate(db)
    assert.deepEqual(kept(db), { mapped: 1, failed: 1, ignored: 1 })
    assert.deepEqual(db.prepare('SELECT hour, n FROM delivery_hours ORDER BY hour').all(), [{ hour: 10, n: 2 }, { hour: 12, n: 1 }])
  })

  test('no statement the report runs scans the inbox, the contacts or the feed items', async (t) => {
    const { app, config } = await buildTestApp(t)
    await knownTraffic(app)
    const db = openDatabase(config.DATABASE_PATH, { readonly: true })
    t.after(() => db.close())
    const ran: Array<{ sql: string, args: unknown[] }> = []
    const prepare = db.prepare.bind(db)
    // Every statement prepared from here on records what it runs.
    db.prepare = ((sql: string) => {
      const statement = prepare(sql)
      for (const method of ['get', 'all', 'run', 'iterate'] as const) {
        const original = statement[method].bind(statement) as (...args: unknown[]) => unknown
        Object.assign(statement, { [method]: (...args: unknown[]) => { ran.push({ sql, args }); return original(...args) } })
      }
      return statement
    }) as typeof db.prepare
    const report = statusReport(createRepositories(db), { feeds: ['contatos', 'candidatura', 'mudanca-de-etapa'], settleMs: 0, retentionDays: 30, now: Date.now() })
    assert.equal(report.damaged, null)
    assert.equal(report.deliveries.mapped, 7)
    assert.ok(ran.length >= 10)
    for (const { sql, args } of ran) {
      const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail)
      // Walking the rowid from its end for the newest delivery reads one row, though SQLite calls it a scan.
      if (/ORDER BY seq DESC LIMIT 1$/.test(sql)) continue
      for (const step of plan) {
        assert.doesNotMatch(step, /^SCAN (deliveries|contacts|feed_items)\b(?! USING (COVERING )?INDEX (deliveries_failed_reason|contacts_held)\b)/, `${sql}\n→ ${step}`)
      }
    }
  })

  test('no delivery yet is a note in a new install\'s first hour, then a warning; a delivery ends it', async (t) => {
    const { app } = await buildTestApp(t)
    const severity = async (offsetMs: number) =>
      (await app.serviceStatus(Date.now() + offsetMs)).verdict.reasons.find((r) => r.code === 'no-deliveries')?.severity
    const report = await app.serviceStatus()
    assert.equal(report.damaged, null)
    const { installedAt } = report
    assert.ok(Math.abs(Date.parse(installedAt!) - Date.now()) < 60_000, 'the install time is when the database was set up')
    assert.equal(await severity(0), 'info')
    assert.equal(await severity(59 * 60_000), 'info')
    assert.equal(await severity(61 * 60_000), 'warning')
    await knownTraffic(app)
    assert.equal(await severity(61 * 60_000), undefined)
  })
})
