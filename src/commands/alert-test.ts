/** `alert-test`: posts a test message to ALERT_WEBHOOK_URL, as the service's alerts would. */
import { alertIdentity } from '../ops/alerts.js'
import { alertAgent, alertHost, postAlert } from '../ops/alert-sender.js'
import { options, UsageError, type Command } from './command.js'

export const alertTest: Command = {
  summary: 'post a test message to ALERT_WEBHOOK_URL; exit 1 if it was not accepted',
  usage: 'gupy-rubeus-bridge alert-test\n\n' +
    'Posts {"text": "…"} once, as the service\'s alerts do (without their retries). Exit 0 when the\n' +
    'address answers 2xx; 1 otherwise, with the reason. Only the address\'s host is ever printed.',
  async run ({ config, args, out, err }) {
    options(args, {})
    const url = config.ALERT_WEBHOOK_URL
    if (url === undefined) throw new UsageError('set ALERT_WEBHOOK_URL, the incoming-webhook address of a Slack, Teams or Google Chat channel')
    const { name, consoleUrl } = alertIdentity(config)
    const text = `🔔 ${name}: mensagem de teste da ponte Gupy → Rubeus. Os alertas chegarão a este canal.\n\nConsole: ${consoleUrl}`
    const agent = alertAgent()
    try {
      const posted = await postAlert(url, text, { dispatcher: agent, attempts: 1 })
      if (posted.ok) {
        out(`accepted by ${alertHost(url)} (${posted.status})\n`)
        return 0
      }
      err(`not accepted: ${posted.reason}\n`)
      return 1
    } finally {
      await agent.close()
    }
  }
}
