/** GET /console (and its status.json): the operator console, behind HTTP Basic auth, under a strict CSP. */
import type { FastifyPluginAsync } from 'fastify'
import { basicCredentials, loginGuard } from '../credentials.js'
import { CSS, ICON, JS } from './assets.js'
import { consolePage } from './page.js'

export interface ConsoleOptions {
  user: string
  password: string
  timeZone: string
}

const BASE = '/console'

/** Nothing from elsewhere, no inline script or style: only the service's own files. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const consolePlugin: FastifyPluginAsync<ConsoleOptions> = async (app, opts) => {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('cache-control', 'no-store')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
    done()
  })
  app.addHook('onRequest', loginGuard({
    route: 'console',
    check: basicCredentials(opts.user, opts.password),
    challenge: 'Basic realm="gupy-rubeus-bridge console", charset="UTF-8"',
    failures: app.metrics.authFailures
  }))

  /** GET /console — the page: readable without JavaScript, refreshed in place with it. */
  app.get(BASE, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(consolePage(await app.serviceStatus(), { timeZone: opts.timeZone, base: BASE })))
  /** GET /console/status.json — the report `status --json` prints, with what only the running service knows. */
  app.get(`${BASE}/status.json`, async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(await app.serviceStatus())))
  app.get(`${BASE}/console.css`, async (_request, reply) => reply.type('text/css; charset=utf-8').send(CSS))
  app.get(`${BASE}/console.js`, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(JS))
  app.get(`${BASE}/icon.svg`, async (_request, reply) => reply.type('image/svg+xml').send(ICON))
}

export default consolePlugin
