/** The console in a real browser: Debian's chromium, headless, driven by playwright-core against a listening bridge. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import { buildTestApp, CONSOLE_PASSWORD } from '../helper.js'
import { systemProgram } from '../system-tools.js'
import { knownTraffic } from './traffic.js'

const browserProgram = systemProgram('chromium', ['/usr/bin/chromium', '/usr/bin/chromium-browser'], 'chromium')
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Value at a dotted path (`feeds.0.served`) of the JSON report. */
const at = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], value)

describe('console in a browser', { skip: 'skip' in browserProgram ? browserProgram.skip : false }, () => {
  test('asks for credentials, refuses wrong ones, and shows the verdict and the numbers of status.json with no personal data, no error, nothing blocked', async (t) => {
    const { app } = await buildTestApp(t)
    if (process.env.CONSOLE_SCREENSHOT !== undefined) {
      // For the README's picture only: two days of earlier traffic (other events, stored as ids), so the chart has a shape.
      const insert = app.store.db.prepare("INSERT INTO deliveries (event_id, event, event_date, received_at, state) VALUES (?, 'candidate.hired', ?, ?, 'ignored')")
      for (let h = 47; h >= 1; h--) {
        const at = Date.now() - h * 3_600_000
        const hour = new Date(at).getUTCHours()
        for (let i = 0; i < Math.round(40 * Math.max(0.05, Math.sin(((hour - 9) / 24) * 2 * Math.PI) + 0.6)); i++) insert.run(`history-${h}-${i}`, at, at)
      }
    }
    const { personal } = await knownTraffic(app)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/console`

    // playwright-core launches the system browser with a fresh temporary profile of its own.
    const browser: Browser = await chromium.launch({ executablePath: (browserProgram as { path: string }).path, args: ARGS })
    t.after(() => browser.close())
    const contextWith = (httpCredentials?: { username: string, password: string }, javaScriptEnabled = true): Promise<BrowserContext> =>
      browser.newContext({ httpCredentials, javaScriptEnabled, viewport: { width: 1100, height: 900 } })

    // Without credentials the browser gets the challenge (a person would be asked); wrong ones are
    // refused: the server answers 401 again and Chromium gives up with ERR_INVALID_AUTH_CREDENTIALS.
    for (const credentials of [undefined, { username: 'operator', password: 'not-the-password-0123' }, { username: 'admin', password: CONSOLE_PASSWORD }]) {
      const page = await (await contextWith(credentials)).newPage()
      const answers: Array<{ status: number, challenge?: string }> = []
      page.on('response', (r) => answers.push({ status: r.status(), challenge: r.headers()['www-authenticate'] }))
      const outcome = await page.goto(url).then((r) => String(r?.status()), (err: Error) => err.message)
      assert.match(outcome, /^401$|ERR_INVALID_AUTH_CREDENTIALS/, JSON.stringify(credentials))
      assert.ok(answers.length > 0, JSON.stringify(credentials))
      for (const a of answers) {
        assert.equal(a.status, 401)
        assert.match(String(a.challenge), /^Basic realm=/)
      }
    }

    const context = await contextWith({ username: 'operator', password: CONSOLE_PASSWORD })
    const page = await context.newPage()
    const errors: string[] = []
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`) })
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`))
    // Scripts run in the page are strings: this project compiles without the DOM's types.
    await page.addInitScript({ content: "window.violations = []; document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI))" })
    const res = await page.goto(url, { waitUntil: 'networkidle' })
    assert.equal(res?.status(), 200)
    const report = await page.evaluate<{ verdict: { status: string, reasons: Array<{ code: string }> } }>("fetch('/console/status.json').then((r) => r.json())")

    // The verdict, and each reason by its code.
    assert.equal(await page.locator('#verdict').getAttribute('data-status'), report.verdict.status)
    assert.deepEqual(await page.locator('#verdict li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-code'))),
      report.verdict.reasons.map((r) => r.code))
    assert.ok((await page.locator('#verdict h2').innerText()).length > 0)

    // Every number on the page is the report's.
    const shown = await page.locator('[data-k]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-k'), e.textContent]))
    const keys = shown.map(([k]) => k)
    for (const key of ['deliveries.mapped', 'deliveries.failed', 'deliveries.ignored', 'service.outcomesSinceStart.rejected', 'feeds.0.served', 'feeds.0.held', 'feeds.1.served', 'failures.0.count', 'held.0.count']) {
      assert.ok(keys.includes(key), `the page shows ${key}`)
    }
    for (const [key, text] of shown) assert.equal(Number(text!.replaceAll('.', '')), at(report, key!), key!)
    assert.equal(at(report, 'deliveries.mapped'), 7)
    assert.equal(at(report, 'feeds.0.served'), 3)

    // No personal value anywhere in the document, the chart drawn, the script running under the CSP.
    const dom = await page.evaluate<string>('document.documentElement.outerHTML + document.body.innerText')
    for (const value of personal) assert.ok(!dom.includes(value), `${value} must not be in the page`)
    const bars = page.locator('svg.chart rect.bar')
    assert.equal(await bars.count(), 48)
    assert.ok((await bars.evaluateAll((rs) => rs.filter((r) => Number(r.getAttribute('height')) > 0).length)) >= 1)
    assert.ok(((await page.locator('svg.chart').boundingBox())?.width ?? 0) > 300)
    assert.equal(await page.locator('#refresh').innerText(), 'Atualizada automaticamente a cada 30 s.')

    const shots = mkdtempSync(join(tmpdir(), 'bridge-console-'))
    t.after(() => rmSync(shots, { recursive: true, force: true }))
    await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT === undefined ? join(shots, 'console.png') : resolve(process.env.CONSOLE_SCREENSHOT), fullPage: true })

    assert.deepEqual(errors, [])
    assert.deepEqual(await page.evaluate('window.violations'), [])
    // The check above can see a violation: an image from elsewhere is blocked and reported.
    await page.evaluate("const img = document.createElement('img'); img.src = 'http://192.0.2.1/x.png'; document.body.append(img)")
    await page.waitForFunction('window.violations.length > 0')

    // Without JavaScript the page reads the same.
    const plain = await (await contextWith({ username: 'operator', password: CONSOLE_PASSWORD }, false)).newPage()
    assert.equal((await plain.goto(url))?.status(), 200)
    assert.equal(await plain.locator('#verdict').getAttribute('data-status'), report.verdict.status)
    assert.equal(await plain.locator('#refresh').innerText(), 'Recarregue a página para atualizar.')
  })
})
