/** The Gupy request budget in the database: one for every connection (process) on the file. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { openDatabase } from '../../src/store/database.js'
import { createGupyBudget, readBudget, sharedBudget } from '../../src/store/gupy-budget.js'
import { tempDir } from '../helper.js'

const T = Date.parse('2026-10-01T12:00:00Z')

describe('gupy budget', () => {
  test('connections take slots one after another, evenly spaced, whoever asks', (t) => {
    const file = join(tempDir(t), 'bridge.sqlite')
    const one = openDatabase(file)
    const two = openDatabase(file, { busyTimeoutMs: 1000 })
    t.after(() => { one.close(); two.close() })
    const a = createGupyBudget(one)
    const b = createGupyBudget(two)
    // 120 a minute: one slot every 500 ms, asked for at the same moment by both.
    assert.deepEqual([a.take(T, 500), b.take(T, 500), a.take(T, 500), b.take(T + 100, 500)], [T, T + 500, T + 1000, T + 1500])
    assert.equal(b.take(T + 60_000, 500), T + 60_000, 'after a quiet spell the next request goes at once')
  })

  test('a pause set on one connection holds back the other; a shorter later pause does not shorten it; it outlives its process', (t) => {
    const file = join(tempDir(t), 'bridge.sqlite')
    const one = openDatabase(file)
    const two = openDatabase(file)
    const a = createGupyBudget(one)
    const b = createGupyBudget(two)
    a.take(T, 500)
    a.pause(T + 60_000, '429 (WAF: Rate-Limit) on GET /api/v1/jobs', T)
    assert.deepEqual(b.paused(T + 1), { until: T + 60_000, reason: '429 (WAF: Rate-Limit) on GET /api/v1/jobs' })
    assert.equal(b.take(T + 1, 500), T + 60_000, 'no slot before the pause ends')
    assert.equal(a.take(T + 2, 500), T + 60_500)
    b.pause(T + 10_000, '429 on GET /x', T + 3)
    assert.equal(a.paused(T + 30_000)?.until, T + 60_000)
    assert.equal(a.paused(T + 60_000), undefined)
    one.close() // the process that took the slots dies; the budget stays
    two.close()
    const again = openDatabase(file, { readonly: true })
    t.after(() => again.close())
    assert.deepEqual(readBudget(again), { nextSlot: T + 61_000, pausedUntil: T + 60_000, pauseReason: '429 (WAF: Rate-Limit) on GET /api/v1/jobs', lastPauseAt: T + 3, pauses: 2 })
  })

  test('a lock held by another connection is waited for off the event loop, and the slot is taken at the time the lock was had', async (t) => {
    const file = join(tempDir(t), 'bridge.sqlite')
    const service = openDatabase(file, { busyTimeoutMs: 25 })
    const command = openDatabase(file)
    t.after(() => { service.close(); command.close() })
    command.exec('BEGIN IMMEDIATE')
    let clock = T
    const budget = sharedBudget(service, () => clock)
    const taking = budget.take(T, 500)
    let ticks = 0
    const ticker = setInterval(() => { ticks++ }, 5)
    await new Promise((resolve) => setTimeout(resolve, 200))
    clock = T + 200
    command.exec('COMMIT')
    assert.equal(await taking, T + 200)
    clearInterval(ticker)
    assert.ok(ticks >= 10, `the event loop ran while the lock was held (${ticks} ticks)`)
  })
})
