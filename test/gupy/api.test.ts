/** Gupy's API client against undici's MockAgent: paging, the rate limit, and its errors. */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { MockAgent, errors } from 'undici'
import { applicationsPath } from '../../src/gupy/reconcile.js'
import { GUPY_TOKEN, gupyStandIn, restApplication, type Misbehaviour } from '../gupy-stand-in.js'
import { ATTEMPTS, BACKOFF_MS, GupyApiError, MAX_WAIT_MS, MIN_PAUSE_MS, PER_PAGE, createGupyApi, ownBudget, type Page, type WaitKind } from '../../src/gupy/api.js'
import { MAX_PAGES } from '../../src/vocabulary/gupy-api.js'

const ORIGIN = 'https://api.gupy.example'
const TOKEN = 'gupy-api-token-0123456789'
const NOW = Date.parse('2025-03-10T12:00:00Z')
const JSON_HEADERS = { headers: { 'content-type': 'application/json' } }

/**
 * A client on a MockAgent that reaches no network, on a clock that starts at NOW and that its waits
 * advance instead of sleeping (they are recorded); unpaced unless asked.
 */
function mockGupy (t: TestContext, requestsPerMinute = 0) {
  const agent = new MockAgent({ enableCallHistory: true })
  agent.disableNetConnect()
  t.after(() => agent.close())
  const waits: Array<{ ms: number, reason: string, kind: WaitKind }> = []
  const slept: number[] = []
  const clock = { now: NOW }
  const api = createGupyApi({
    baseUrl: `${ORIGIN}/`,
    token: TOKEN,
    dispatcher: agent,
    now: () => clock.now,
    requestsPerMinute,
    onWait: (ms, reason, kind) => { waits.push({ ms, reason, kind }) },
    sleep: async (ms) => {
      slept.push(ms)
      clock.now += ms
    }
  })
  const calls = () => agent.getCallHistory()?.calls() ?? []
  return { agent, pool: agent.get(ORIGIN), api, waits, slept, calls, clock }
}

const subscription = (n: number) => ({ id: `sub-${n}`, action: 'application.created', status: 'active', postbackUrl: `https://bridge.example.com/webhooks/gupy#${n}` })

describe('listings', () => {
  test('a bare array is the whole list, in one call with the token, fields=all and the paging parameters', async (t) => {
    const gupy = mockGupy(t)
    gupy.pool.intercept({ path: '/api/v1/webhooks', method: 'GET', query: { fields: 'all', perPage: '100', page: '1' } })
      .reply(200, [subscription(1), subscription(2)], JSON_HEADERS)
    const list = await gupy.api.listWebhooks()
    assert.deepEqual(list.map((s) => s.id), ['sub-1', 'sub-2'])
    const [call, ...more] = gupy.calls()
    assert.equal(more.length, 0)
    assert.equal(call?.fullUrl, `${ORIGIN}/api/v1/webhooks?fields=all&perPage=100&page=1`)
    assert.equal((call?.headers as Record<string, string>).authorization, `Bearer ${TOKEN}`)
    gupy.agent.assertNoPendingInterceptors()
  })

  test('{results, totalResults, page, totalPages} is walked page by page, exactly totalPages calls', async (t) => {
    const gupy = mockGupy(t)
    const all = Array.from({ length: 5 }, (_, i) => subscription(i + 1))
    gupy.pool.intercept({ path: (p) => p.startsWith('/api/v1/jobs?'), method: 'GET' }).reply(({ path }) => {
      const page = Number(new URL(path, ORIGIN).searchParams.get('page'))
      return { statusCode: 200, data: { results: all.slice((page - 1) * 2, page * 2), totalResults: all.length, page, totalPages: 3 }, responseOptions: JSON_HEADERS }
    }).times(3)
    const list = await gupy.api.listAll<{ id: string }>('/api/v1/jobs', { status: 'published' })
    assert.deepEqual(list.map((s) => s.id), all.map((s) => s.id))
    const calls = gupy.calls()
    assert.equal(calls.length, 3)
    assert.deepEqual(calls.map((c) => c.searchParams), [1, 2, 3].map((page) => ({ status: 'published', perPage: '100', page: String(page) })))
    gupy.agent.assertNoPendingInterceptors()
  })

  test('pages() yields each page; {data} without totalPages is one page; an empty page ends the walk', async (t) => {
    const gupy = mockGupy(t)
    gupy.pool.intercept({ path: (p) => p.startsWith('/api/v1/applications?'), method: 'GET' })
      .reply(200, { data: [{ id: 1 }, { id: 2 }] }, JSON_HEADERS)
    const pages = []
    for await (const page of gupy.api.pages<{ id: number }>('/api/v1/applications')) pages.push(page)
    assert.deepEqual(pages, [[{ id: 1 }, { id: 2 }]])

    gupy.pool.intercept({ path: (p) => p.startsWith('/api/v1/applications?'), method: 'GET' })
      .reply(200, { results: [{ id: 3 }], totalPages: 9 }, JSON_HEADERS)
    gupy.pool.intercept({ path: (p) => p.startsWith('/api/v1/applications?'), method: 'GET' })
      .reply(200, { results: [], totalPages: 9 }, JSON_HEADERS)
    assert.deepEqual(await gupy.api.listAll('/api/v1/applications'), [{ id: 3 }])
    assert.equal(gupy.calls().length, 3)
    gupy.agent.assertNoPendingInterceptors()
  })

  test('an answer in an unknown shape is a GupyApiError saying so', async (t) => {
    const gupy = mockGupy(t)
    gupy.pool.intercept({ path: (p) => p.startsWith('/api/v1/webhooks?'), method: 'GET' }).reply(200, { items: [] }, JSON_HEADERS)
    await assert.rejects(gupy.api.listWebhooks(), (err) => {
      assert.ok(err instanceof GupyApiError)
      assert.equal(err.message, 'Gupy answered the subscription list in an unknown shape')
      assert.equal(err.status, 200)
      return true
    })
    gupy.pool.intercept({ path: (p) => p.startsWith('/api/v1/jobs?'), method: 'GET' }).reply(200, '')
    await assert.rejects(gupy.api.listAll('/api/v1/jobs'), /Gupy answered the \/api\/v1\/jobs list in an unknown shape/)
  })
})

describe('call', () => {
  test('sends the JSON body; an empty answer is undefined', async (t) => {
    const gupy = mockGupy(t)
    gupy.pool.intercept({ path: '/api/v1/webhooks', method: 'POST', body: JSON.stringify({ action: 'application.moved' }) }).reply(201, { id: 'new' }, JSON_HEADERS)
    gupy.pool.intercept({ path: '/api/v1/webhooks/new', method: 'PUT' }).reply(204, '')
    assert.deepEqual(await gupy.api.call('POST', '/api/v1/webhooks', { action: 'application.moved' }), { id: 'new' })
    assert.equal(await gupy.api.call('PUT', '/api/v1/webhooks/new', {}), undefined)
    assert.equal((gupy.calls()[0]?.headers as Record<string, string>)['content-type'], 'application/json')
  })

  test('a 429 with Retry-After (seconds, or an HTTP date) pauses for that long, then the call is made again', async (t) => {
    const gupy = mockGupy(t)
    const path = '/api/v1/jobs/1'
    gupy.pool.intercept({ path, method: 'GET' }).reply(429, { message: 'Too Many Requests' }, { headers: { 'retry-after': '7', waf: 'Rate-Limit' } })
    gupy.pool.intercept({ path, method: 'GET' }).reply(429, '', { headers: { 'retry-after': new Date(NOW + 7000 + 3000).toUTCString() } })
    gupy.pool.intercept({ path, method: 'GET' }).reply(200, { id: 1 }, JSON_HEADERS)
    assert.deepEqual(await gupy.api.call('GET', path), { id: 1 })
    assert.deepEqual(gupy.slept, [7000, 3000])
    assert.deepEqual(gupy.waits, [
      { ms: 7000, reason: '429 (WAF: Rate-Limit) on GET /api/v1/jobs/1', kind: 'pause' },
      { ms: 3000, reason: '429 on GET /api/v1/jobs/1', kind: 'pause' }
    ])
    assert.equal(gupy.calls().length, 3)
    assert.deepEqual(gupy.api.waits(), { ms: 10_000, rateLimited: 2 })
  })

  test('without Retry-After a 429 pauses at least 60 s, longer when X-RateLimit-Reset says so (epoch seconds or seconds from now)', async (t) => {
    const gupy = mockGupy(t)
    const resets = [() => undefined, () => String(gupy.clock.now / 1000 + 30), () => '90', () => String(gupy.clock.now / 1000 + 120)]
    for (const resetAt of resets) {
      const reset = resetAt()
      gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(429, '', { headers: reset === undefined ? { waf: 'Rate-Limit' } : { 'x-ratelimit-reset': reset } })
      gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(200, { ok: true }, JSON_HEADERS)
      assert.deepEqual(await gupy.api.call('GET', '/x'), { ok: true })
    }
    assert.deepEqual(gupy.slept, [MIN_PAUSE_MS, MIN_PAUSE_MS, 90_000, 120_000])
    assert.equal(MIN_PAUSE_MS, 60_000)
  })

  test('a 429 is never fatal: Gupy answering 429 again and again is waited out (each pause capped) until it answers', async (t) => {
    const gupy = mockGupy(t)
    gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(429, 'slow down', { headers: { 'retry-after': '3600' } }).times(ATTEMPTS + 3)
    gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(200, { ok: true }, JSON_HEADERS)
    assert.deepEqual(await gupy.api.call('GET', '/x'), { ok: true })
    assert.deepEqual(gupy.slept, Array(ATTEMPTS + 3).fill(MAX_WAIT_MS))
    assert.deepEqual(gupy.api.waits(), { ms: (ATTEMPTS + 3) * MAX_WAIT_MS, rateLimited: ATTEMPTS + 3 })
    gupy.agent.assertNoPendingInterceptors()
  })

  test('two clients on one budget: requests evenly spaced between them; a pause that comes while one waits for its slot voids that slot', async (t) => {
    const agent = new MockAgent()
    agent.disableNetConnect()
    t.after(() => agent.close())
    const clock = { now: NOW }
    const starts: Array<[string, number]> = []
    const pool = agent.get(ORIGIN)
    for (const path of ['/a', '/b']) {
      pool.intercept({ path, method: 'GET' }).reply(() => {
        starts.push([path, clock.now - NOW])
        return { statusCode: 200, data: '{}', responseOptions: JSON_HEADERS }
      }).persist()
    }
    const budget = ownBudget()
    let pauseOnce = true
    const client = (sleep: (ms: number) => Promise<void>) =>
      createGupyApi({ baseUrl: ORIGIN, token: TOKEN, dispatcher: agent, requestsPerMinute: 60, budget, now: () => clock.now, sleep })
    const a = client(async (ms) => { clock.now += ms })
    const b = client(async (ms) => {
      clock.now += ms
      // While b sleeps towards its slot, another process sharing the budget gets a 429 with Retry-After: 5.
      if (pauseOnce) await budget.pause(clock.now + 5000, '429 on GET /other', clock.now)
      pauseOnce = false
    })
    await a.call('GET', '/a') // slot 0
    await b.call('GET', '/b') // slot 1000, voided by the pause until 6000: b goes at 6000
    await a.call('GET', '/a') // the next slot: 7000
    assert.deepEqual(starts, [['/a', 0], ['/b', 6000], ['/a', 7000]])
  })

  test('401 and 403 say the token was refused and name the permissions it needs, never the token', async (t) => {
    const gupy = mockGupy(t)
    for (const status of [401, 403]) {
      gupy.pool.intercept({ path: '/api/v1/webhooks?fields=all&perPage=100&page=1', method: 'GET' }).reply(status, { message: `bad token ${TOKEN}` }, JSON_HEADERS)
      await assert.rejects(gupy.api.listWebhooks(), (err) => {
        assert.ok(err instanceof GupyApiError)
        assert.equal(err.status, status)
        assert.match(err.message, new RegExp(`^Gupy refused the token \\(${status}\\): check GUPY_API_TOKEN`))
        assert.match(err.message, /listing, creating and updating webhook configurations/)
        assert.match(err.message, /listing jobs and listing applications/)
        assert.ok(!err.message.includes(TOKEN))
        return true
      })
    }
  })

  test('another status is a GupyApiError with the status and the start of the body (without the token)', async (t) => {
    const gupy = mockGupy(t)
    const body = `{"error":"boom","echo":"Bearer ${TOKEN}","detail":"${'x'.repeat(400)}"}`
    gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(500, body, JSON_HEADERS).times(ATTEMPTS)
    await assert.rejects(gupy.api.call('GET', '/x'), (err) => {
      assert.ok(err instanceof GupyApiError)
      assert.equal(err.status, 500)
      assert.ok(err.message.startsWith('Gupy answered 500: {"error":"boom","echo":"Bearer <GUPY_API_TOKEN>"'))
      assert.equal(err.message.length, 'Gupy answered 500: '.length + 300)
      assert.ok(!err.message.includes(TOKEN))
      return true
    })
    assert.equal(gupy.calls().length, ATTEMPTS, 'a 500 is retried, then reported')
    gupy.agent.assertNoPendingInterceptors()
  })

  test('a 500, a 503 and a time-out are retried with a doubling backoff, then the answer comes', async (t) => {
    const gupy = mockGupy(t)
    gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(500, 'oops')
    gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(503, '')
    gupy.pool.intercept({ path: '/x', method: 'GET' }).replyWithError(new errors.HeadersTimeoutError())
    gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(200, { ok: true }, JSON_HEADERS)
    assert.deepEqual(await gupy.api.call('GET', '/x'), { ok: true })
    assert.deepEqual(gupy.slept, [BACKOFF_MS, 2 * BACKOFF_MS, 4 * BACKOFF_MS])
    assert.match(gupy.waits[0]!.reason, /server error \(500\) on GET \/x, attempt 1/)
    assert.match(gupy.waits[2]!.reason, /^no whole answer within 30 s \(GUPY_API_TIMEOUT_SECONDS\) on GET \/x, attempt 3 of 5$/)
    assert.equal(gupy.api.requests(), 4)
    gupy.agent.assertNoPendingInterceptors()
  })

  test('time-outs to the end are a GupyApiError saying no whole answer came; a lost connection that Gupy could not be reached; a POST is never retried', async (t) => {
    const gupy = mockGupy(t)
    gupy.pool.intercept({ path: '/x', method: 'GET' }).replyWithError(new errors.BodyTimeoutError()).times(ATTEMPTS)
    await assert.rejects(gupy.api.call('GET', '/x'), (err) => err instanceof GupyApiError && err.status === 0 &&
      err.message === 'Gupy gave no whole answer within 30 s (GUPY_API_TIMEOUT_SECONDS) to GET /x, 5 attempt(s)')
    gupy.pool.intercept({ path: '/y', method: 'GET' }).replyWithError(new errors.SocketError('other side closed')).times(ATTEMPTS)
    await assert.rejects(gupy.api.call('GET', '/y'), /^GupyApiError: Gupy could not be reached \(UND_ERR_SOCKET\) on GET \/y after 5 attempt\(s\)$/)
    gupy.pool.intercept({ path: '/api/v1/webhooks', method: 'POST' }).reply(502, 'bad gateway')
    await assert.rejects(gupy.api.call('POST', '/api/v1/webhooks', {}), (err) => err instanceof GupyApiError && err.status === 502)
    assert.equal(gupy.calls().length, 2 * ATTEMPTS + 1, 'the creation was sent once: Gupy may have made it')
    gupy.agent.assertNoPendingInterceptors()
  })
})

describe('pacing', () => {
  test('requests are spaced evenly under the rate: 600 a minute is one every 100 ms, on a clock the waits advance', async (t) => {
    const agent = new MockAgent()
    agent.disableNetConnect()
    t.after(() => agent.close())
    let clock = NOW
    const starts: number[] = []
    agent.get(ORIGIN).intercept({ path: '/x', method: 'GET' }).reply(() => {
      starts.push(clock)
      return { statusCode: 200, data: '{}', responseOptions: JSON_HEADERS }
    }).times(5)
    const api = createGupyApi({ baseUrl: ORIGIN, token: TOKEN, dispatcher: agent, requestsPerMinute: 600, now: () => clock, sleep: async (ms) => { clock += ms } })
    for (let i = 0; i < 5; i++) await api.call('GET', '/x')
    assert.deepEqual(starts.map((s) => s - NOW), [0, 100, 200, 300, 400])
    clock += 10_000 // idle: the next request goes at once
    await assert.rejects(api.call('GET', '/x'))
    assert.equal(api.requests(), 6)
  })
})

describe('paging is bounded', () => {
  /** A listing whose page n is made by `answer(n)`. */
  function listing (t: TestContext, answer: (page: number) => unknown, options: { maxPages?: number } = {}) {
    const agent = new MockAgent({ enableCallHistory: true })
    agent.disableNetConnect()
    t.after(() => agent.close())
    agent.get(ORIGIN).intercept({ path: (p) => p.startsWith('/api/v1/jobs/7/applications?'), method: 'GET' }).reply(({ path }) => {
      const page = Number(new URL(path, ORIGIN).searchParams.get('page'))
      return { statusCode: 200, data: JSON.stringify(answer(page)), responseOptions: JSON_HEADERS }
    }).persist()
    const api = createGupyApi({ baseUrl: ORIGIN, token: TOKEN, dispatcher: agent, requestsPerMinute: 0, ...options })
    const walk = async () => {
      const pages: Array<Page<{ id: number }>> = []
      for await (const page of api.listPages<{ id: number }>('/api/v1/jobs/7/applications', {}, 'application')) pages.push(page)
      return pages
    }
    return { api, walk, calls: () => api.requests() }
  }
  const items = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i }))

  test('without totals, pages are followed while they come full (a listing without totalPages is not one page)', async (t) => {
    const gupy = listing(t, (page) => ({ results: page < 3 ? items(page * 1000, PER_PAGE) : items(3000, 37) }))
    const pages = await gupy.walk()
    assert.deepEqual(pages.map((p) => p.items.length), [PER_PAGE, PER_PAGE, 37])
    assert.ok(pages.every((p) => p.cut === undefined))
    assert.equal(gupy.calls(), 3)
  })

  test('a page that repeats an earlier one ends the walk, cut short and said so', async (t) => {
    const gupy = listing(t, () => ({ results: items(1, PER_PAGE), page: 1, totalResults: 1_000_000, totalPages: 10_000 }))
    const pages = await gupy.walk()
    assert.deepEqual(pages.map((p) => [p.items.length, p.cut]), [[PER_PAGE, undefined], [0, 'repeatedPage']])
    assert.equal(gupy.calls(), 2)
    assert.deepEqual((await gupy.api.listAll('/api/v1/jobs/7/applications')).length, PER_PAGE, 'listAll keeps the items, once')
  })

  test('never past what totalResults allows: absurd totalPages stop at the results announced; more items than announced are cut', async (t) => {
    const exact = listing(t, (page) => ({ results: page === 1 ? items(1, PER_PAGE) : items(1000, 50), totalResults: 150, totalPages: 1e12 }))
    assert.deepEqual((await exact.walk()).map((p) => [p.items.length, p.cut]), [[PER_PAGE, undefined], [50, undefined]])
    assert.equal(exact.calls(), 2)
    const endless = listing(t, (page) => ({ results: items(page * 1000, PER_PAGE), totalResults: 250, totalPages: page + 1 }))
    assert.deepEqual((await endless.walk()).map((p) => [p.items.length, p.cut]), [[PER_PAGE, undefined], [PER_PAGE, undefined], [PER_PAGE, undefined], [0, 'pastTotals']])
    assert.equal(endless.calls(), 3)
  })

  test('fresh full pages with no totals end at the page limit, cut short and said so; an empty page ends a walk', async (t) => {
    const gupy = listing(t, (page) => ({ results: items(page * 1000, PER_PAGE) }), { maxPages: 4 })
    assert.deepEqual((await gupy.walk()).map((p) => p.cut), [undefined, undefined, undefined, undefined, 'pageCap'])
    assert.equal(gupy.calls(), 4)
    assert.equal(MAX_PAGES, 2000)
    const empty = listing(t, (page) => ({ results: page === 1 ? items(1, PER_PAGE) : [], totalPages: 5 }))
    assert.deepEqual((await empty.walk()).map((p) => p.items.length), [PER_PAGE])
  })

  test('null or non-object items fail the listing with one line, never a TypeError later', async (t) => {
    const gupy = listing(t, () => ({ results: [{ id: 1 }, null, 7], totalPages: 1 }))
    await assert.rejects(gupy.walk(), (err) => err instanceof GupyApiError && err.status === 200 &&
      err.message === 'Gupy answered page 1 of the application list with 2 item(s) that are not objects (null, a number, a list)')
  })
})

describe('answers that are not the JSON expected', () => {
  test('an HTML page, truncated JSON, broken JSON or plain text: one line saying what came back, never a SyntaxError nor the content', async (t) => {
    const gupy = mockGupy(t)
    const cases: Array<[string, Record<string, string>, string]> = [
      ['<!DOCTYPE html>\n<html><body>Maria Souza maria@example.com</body></html>', { 'content-type': 'text/html; charset=utf-8' },
        'Gupy answered GET /x with an HTML page (71 bytes, text/html;charset=utf-8), not the JSON expected'],
      ['{"results":[{"id":1,"candidate":{"name":"Maria"', { 'content-type': 'application/json' },
        'Gupy answered GET /x with truncated JSON (47 bytes, application/json), not the JSON expected'],
      ['{"results":[}', {}, 'Gupy answered GET /x with broken JSON (13 bytes), not the JSON expected'],
      ['Service Unavailable for maria@example.com', { 'content-type': 'text/plain' }, 'Gupy answered GET /x with text that is not JSON (41 bytes, text/plain), not the JSON expected']
    ]
    for (const [body, headers, message] of cases) {
      gupy.pool.intercept({ path: '/x', method: 'GET' }).reply(200, body, { headers })
      await assert.rejects(gupy.api.call('GET', '/x'), (err) => {
        assert.ok(err instanceof GupyApiError, String(err))
        assert.equal(err.message, message)
        assert.equal(err.status, 200)
        return true
      })
    }
  })

  test('an error body is trimmed to one line with personal data masked; an HTML error page is named, not shown', async (t) => {
    const gupy = mockGupy(t)
    const body = JSON.stringify({
      message: 'invalid candidate',
      candidate: { name: 'Maria', lastName: 'Souza Lima', email: 'Maria.Souza@example.com', identificationDocument: '529.982.247-25', mobileNumber: '+55 (11) 98765-4321' },
      note: 'contact maria.souza@example.com\nor call 11 3333-4444, CPF 52998224725'
    })
    gupy.pool.intercept({ path: '/api/v1/webhooks', method: 'POST' }).reply(422, body, JSON_HEADERS)
    await assert.rejects(gupy.api.call('POST', '/api/v1/webhooks', {}), (err) => {
      assert.ok(err instanceof GupyApiError)
      assert.equal(err.message, 'Gupy answered 422: {"message":"invalid candidate","candidate":{"name":"[name]","lastName":"[name]","email":"[masked]",' +
        '"identificationDocument":"[masked]","mobileNumber":"[masked]"},"note":"contact [e-mail]\\nor call [number], CPF [CPF]"}')
      return true
    })
    gupy.pool.intercept({ path: '/api/v1/webhooks', method: 'POST' }).reply(502, '<html><head><title>502 Bad Gateway</title></head></html>')
    await assert.rejects(gupy.api.call('POST', '/api/v1/webhooks', {}), /^GupyApiError: Gupy answered 502 with an HTML page$/)
  })
})

describe('over a real socket: a whole-answer deadline and a size limit', () => {
  /** A client of the stand-in whose retries do not wait (the deadline is real). */
  async function wire (t: TestContext, misbehave: Misbehaviour, timeoutMs = 1000) {
    const job = { id: 4242, name: 'Vaga' }
    const gupy = await gupyStandIn(t, { jobs: [{ ...job, misbehave, applications: [restApplication(1, job), restApplication(2, job)] }] })
    const waits: string[] = []
    const api = createGupyApi({ baseUrl: gupy.url, token: GUPY_TOKEN, requestsPerMinute: 0, timeoutMs, sleep: async () => {}, onWait: (_ms, reason) => { waits.push(reason) } })
    return { gupy, api, waits, list: () => api.listAll(applicationsPath(String(job.id)), { fields: 'all' }, 'application') }
  }
  const PATH = '/api/v1/jobs/4242/applications?fields=all&perPage=100&page=1'

  test('an answer that trickles in (1 byte every 100 ms) is cut off at the deadline, tried again, then fails with one line', { timeout: 60_000 }, async (t) => {
    const { gupy, list, waits } = await wire(t, 'trickle')
    await assert.rejects(list(), (err) => err instanceof GupyApiError && err.status === 0 &&
      err.message === `Gupy gave no whole answer within 1 s (GUPY_API_TIMEOUT_SECONDS) to GET ${PATH}, ${ATTEMPTS} attempt(s)`)
    assert.equal(gupy.calls.length, ATTEMPTS)
    assert.match(waits[0]!, /^no whole answer within 1 s/)
  })

  test('a 20 MB answer is not read past 10 MB, and fails with one line', { timeout: 60_000 }, async (t) => {
    const { gupy, list } = await wire(t, 'huge', 30_000)
    await assert.rejects(list(), (err) => err instanceof GupyApiError && err.status === 200 &&
      err.message === `Gupy's answer to GET ${PATH} is larger than 10 MB; it was not read further`)
    assert.equal(gupy.calls.length, 1, 'not tried again')
    await new Promise((resolve) => setTimeout(resolve, 100)) // the stand-in sees the connection close
    assert.ok(gupy.written[0]! < 20_000_000, `the stand-in wrote ${gupy.written[0]} bytes before the bridge hung up`)
  })

  test('an HTML page and truncated JSON fail with one line saying what came back', async (t) => {
    const html = await wire(t, 'html')
    await assert.rejects(html.list(), /^GupyApiError: Gupy answered GET \/api\/v1\/jobs\/4242\/applications\?fields=all&perPage=100&page=1 with an HTML page \(\d+ bytes, text\/html\), not the JSON expected$/)
    const truncated = await wire(t, 'truncated')
    await assert.rejects(truncated.list(), /^GupyApiError: Gupy answered GET \S+ with truncated JSON \(\d+ bytes, application\/json\), not the JSON expected$/)
  })
})
