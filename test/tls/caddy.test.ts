/** The repository's Caddyfile run by Debian's caddy in front of a real bridge on loopback, with Caddy's internal CA. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request } from 'undici'
import { applicationEvent, buildTestApp, CONSOLE_PASSWORD, FEED_TOKEN, freePort, person, SECRET, tempDir } from '../helper.js'
import { spawnHermetic } from '../processes.js'
import { systemProgram } from '../system-tools.js'

const caddy = systemProgram('caddy', ['/usr/bin/caddy', '/usr/local/bin/caddy'], 'caddy')
const CADDYFILE = new URL('../../Caddyfile', import.meta.url).pathname
/** Gupy as Caddy sees it, another caller, and Caddy itself as the bridge sees it: three loopback addresses. */
const GUPY = '127.0.0.2'
const STRANGER = '127.0.0.3'

/** Starts caddy with test-only global options in front of the repository's Caddyfile; stopped after the test. */
async function startCaddy (t: TestContext, program: string, upstream: string) {
  const dir = tempDir(t)
  const [httpPort, httpsPort] = [await freePort(), await freePort()]
  const config = join(dir, 'Caddyfile.test')
  writeFileSync(config, `{
\tadmin off
\tdefault_bind 127.0.0.1
\tlocal_certs
\tskip_install_trust
\tauto_https disable_redirects
\thttp_port ${httpPort}
\thttps_port ${httpsPort}
\tstorage file_system {
\t\troot ${join(dir, 'data')}
\t}
}
import ${CADDYFILE}
`)
  const proc = spawnHermetic(t, program, ['run', '--config', config, '--adapter', 'caddyfile'], {
    cwd: dir,
    env: { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, BRIDGE_DOMAIN: 'localhost', BRIDGE_UPSTREAM: upstream }
  })
  const { child } = proc
  t.after(async () => { await proc.stop('SIGTERM') })
  const root = join(dir, 'data', 'pki', 'authorities', 'local', 'root.crt')
  const agent = (localAddress: string) => new Agent({
    localAddress,
    connect: {
      ca: readFileSync(root),
      servername: 'localhost',
      // `localhost` may resolve to ::1 first; Caddy listens on 127.0.0.1 only.
      lookup: (_host, options, done) => options.all === true ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4)
    },
    keepAliveTimeout: 10,
    keepAliveMaxTimeout: 10
  })
  const base = `https://localhost:${httpsPort}`
  // Ready once its CA exists and it answers over TLS (it issues the certificate at start-up).
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`caddy exited ${child.exitCode}:\n${proc.stderr()}`)
    if (existsSync(root)) {
      try {
        const res = await request(`${base}/`, { dispatcher: agent(GUPY) })
        await res.body.dump()
        break
      } catch (err) {
        if (attempt > 300) throw new Error(`caddy does not answer over TLS: ${String(err)}\n${proc.stderr()}`)
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { base, agent }
}

describe('TLS front (Caddy)', { skip: 'skip' in caddy ? caddy.skip : false }, () => {
  test('serves the webhook, the feeds and the console over HTTPS, hides the probes, and checks the address Caddy forwards', async (t) => {
    const { app } = await buildTestApp(t, { TRUST_PROXY: '127.0.0.1', GUPY_ALLOWED_IPS: GUPY })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const bridge = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    const { base, agent } = await startCaddy(t, (caddy as { path: string }).path, bridge.replace('http://', ''))
    const fromGupy = agent(GUPY)
    const fromStranger = agent(STRANGER)
    t.after(() => Promise.all([fromGupy.close(), fromStranger.close()]))

    const call = async (dispatcher: Agent, path: string, opts: { method?: 'GET' | 'HEAD' | 'POST', headers?: Record<string, string>, body?: string } = {}) => {
      const res = await request(`${base}${path}`, { dispatcher, method: opts.method ?? 'GET', headers: opts.headers, body: opts.body })
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
    }
    const delivery = JSON.stringify(applicationEvent(person(1), { id: 'tls-1', event: 'application.created', date: new Date(), step: 'Cadastro' }))
    const webhook = (dispatcher: Agent, headers: Record<string, string> = {}) =>
      call(dispatcher, '/webhooks/gupy', { method: 'POST', body: delivery, headers: { authorization: `Bearer ${SECRET}`, ...headers } })

    // A webhook and a feed poll over HTTPS; a HEAD first (Caddy passes it on) hands out nothing.
    const accepted = await webhook(fromGupy)
    assert.equal(accepted.status, 200, accepted.text)
    assert.equal(JSON.parse(accepted.text).status, 'accepted')
    const head = await call(fromGupy, '/rubeus/contatos', { method: 'HEAD', headers: { authorization: `Bearer ${FEED_TOKEN}` } })
    assert.equal(head.status, 200)
    assert.equal(head.headers['x-batch-id'], undefined)
    assert.equal(head.headers['x-remaining'], '1')
    const feed = await call(fromGupy, '/rubeus/contatos', { headers: { authorization: `Bearer ${FEED_TOKEN}` } })
    assert.equal(feed.status, 200)
    assert.equal(JSON.parse(feed.text).length, 1)

    // The probes and metrics answer on the bridge itself, never through Caddy.
    for (const path of ['/metrics', '/readyz', '/healthz']) {
      assert.equal((await request(`${bridge}${path}`)).statusCode, 200, `${path} on the bridge`)
      assert.equal((await call(fromGupy, path)).status, 404, `${path} through Caddy`)
    }

    // The console, only with its password.
    const refused = await call(fromGupy, '/console')
    assert.equal(refused.status, 401)
    assert.match(String(refused.headers['www-authenticate']), /^Basic /)
    const page = await call(fromGupy, '/console', { headers: { authorization: `Basic ${Buffer.from(`operator:${CONSOLE_PASSWORD}`).toString('base64')}` } })
    assert.equal(page.status, 200)
    assert.match(page.text, /<html lang="pt-BR">/)

    // The allowlist checks the caller as Caddy forwards it, and a caller cannot claim another address.
    assert.equal((await webhook(fromStranger)).status, 403)
    assert.equal((await webhook(fromStranger, { 'x-forwarded-for': GUPY })).status, 403)
    const status = await call(fromGupy, '/console/status.json', { headers: { authorization: `Basic ${Buffer.from(`operator:${CONSOLE_PASSWORD}`).toString('base64')}` } })
    assert.equal(JSON.parse(status.text).feeds[0].lastPoll.caller, GUPY, 'the feed poll is recorded from the forwarded address')
  })
})
