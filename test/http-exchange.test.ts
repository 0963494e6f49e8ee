/** The pieces the API clients share: pacing, backoff, Retry-After, which failures are worth another attempt, and what came back. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { LateAnswerError, backoffMs, describeNotJson, evenPacer, noAnswer, retryAfterMs } from '../src/http-exchange.js'

describe('http exchange', () => {
  test('evenPacer: callers waiting together each get their own slot, one spacing apart; 0 is unpaced', async () => {
    let clock = 1_000
    const starts: number[] = []
    const paced = evenPacer(600, { now: () => clock, sleep: async (ms) => { clock += ms } })
    for (let i = 0; i < 4; i++) {
      await paced()
      starts.push(clock)
    }
    assert.deepEqual(starts, [1000, 1100, 1200, 1300])
    clock += 1000 // idle: no credit is saved up for a burst
    await paced()
    await paced()
    assert.equal(clock, 2400)

    const slept: number[] = []
    const unpaced = evenPacer(0, { now: () => 0, sleep: async (ms) => { slept.push(ms) } })
    await Promise.all([unpaced(), unpaced(), unpaced()])
    assert.deepEqual(slept, [])
  })

  test('backoffMs: from the base, doubling, capped, less at most a quarter at random', () => {
    const b = { baseMs: 1000, maxMs: 60_000 }
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => backoffMs(n, { ...b, random: () => 0 })), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000])
    assert.deepEqual([1, 7].map((n) => backoffMs(n, { ...b, random: () => 1 })), [750, 45000])
    for (let i = 0; i < 200; i++) {
      const ms = backoffMs(1 + (i % 10), b)
      assert.ok(ms >= 750 && ms <= 60_000, String(ms))
    }
  })

  test('retryAfterMs: seconds or an HTTP date; absent or unreadable is undefined', () => {
    const now = Date.parse('2025-03-10T12:00:00Z')
    assert.equal(retryAfterMs({ 'retry-after': '7' }, now), 7000)
    assert.equal(retryAfterMs({ 'retry-after': 'Mon, 10 Mar 2025 12:00:30 GMT' }, now), 30_000)
    assert.equal(retryAfterMs({ 'retry-after': 'Mon, 10 Mar 2025 11:00:00 GMT' }, now), 0)
    assert.equal(retryAfterMs({ 'retry-after': 'soon' }, now), undefined)
    assert.equal(retryAfterMs({}, now), undefined)
  })

  test('noAnswer: the deadline and connection failures are worth another attempt; anything else is not', () => {
    assert.deepEqual(noAnswer(new LateAnswerError()), { late: true, code: 'deadline' })
    assert.deepEqual(noAnswer(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), { late: false, code: 'ECONNREFUSED' })
    assert.deepEqual(noAnswer(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })), { late: true, code: 'UND_ERR_HEADERS_TIMEOUT' })
    assert.equal(noAnswer(Object.assign(new Error('x'), { code: 'UND_ERR_INVALID_ARG' })), undefined)
    assert.equal(noAnswer(new TypeError('x')), undefined)
  })

  test('describeNotJson: what came back, never its content', () => {
    const said = (text: string) => {
      let err: unknown
      try { JSON.parse(text) } catch (e) { err = e }
      return describeNotJson(text, Buffer.byteLength(text), 'text/html; charset=utf-8', err)
    }
    assert.equal(said('<!DOCTYPE html><p>maria@example.com</p>'), 'an HTML page (39 bytes, text/html;charset=utf-8)')
    assert.equal(said('{"a": [1, 2'), 'truncated JSON (11 bytes, text/html;charset=utf-8)')
    assert.equal(said('{"a": }'), 'broken JSON (7 bytes, text/html;charset=utf-8)')
    assert.equal(said('maria@example.com'), 'text that is not JSON (17 bytes, text/html;charset=utf-8)')
    assert.equal(said(' '), 'an empty answer (1 bytes, text/html;charset=utf-8)')
  })
})
