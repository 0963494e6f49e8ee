/** `reconcile`: one reconciliation run now (outcomes Gupy never posts), mapped and summarised. */
import { reconcile as runReconciliation, type ReconcileSummary } from '../gupy/reconcile.js'
import { safeReason } from '../gupy/api.js'
import { budgetWaitText, leftOut } from '../vocabulary/gupy-api.js'
import { createMapper } from '../mapping/mapper.js'
import { loadMapping } from '../mapping/mapping-file.js'
import { sharedBudget } from '../store/gupy-budget.js'
import { createRepositories } from '../store/repositories.js'
import { options, withDatabase, type Command } from './command.js'
import { apiFailure, gupyClient } from './webhooks.js'

export const API_PERMISSIONS = 'the permissions for listing jobs and listing applications'

export function reconcileSummaryLine (s: ReconcileSummary): string {
  const left = leftOut(s.skipped, s.cut)
  const waited = budgetWaitText(s.budgetWaitMs, s.rateLimited)
  return `jobs asked: ${s.jobs}${s.jobsGone > 0 ? ` (${s.jobsGone} no longer in Gupy)` : ''}; applications seen: ${s.applications}; ` +
    `outcomes found: ${s.outcomes.reproved + s.outcomes.give_up} (reproved ${s.outcomes.reproved}, give_up ${s.outcomes.give_up}); ` +
    `API calls: ${s.calls}; time: ${(s.ms / 1000).toFixed(1)} s${left === '' ? '' : `\nleft out: ${left}`}${waited === '' ? '' : `\n${waited}`}`
}

export const reconcile: Command = {
  summary: 'ask Gupy\'s API now for reproved and withdrawn applications (webhooks never say) and queue them for Rubeus',
  usage: 'gupy-rubeus-bridge reconcile\n\n' +
    'Needs GUPY_API_TOKEN. Asks only jobs with open applications the bridge knows; each application\n' +
    'found reproved or withdrawn becomes one event on the reprovacao or desistencia feed. Running it\n' +
    'twice, or after an interruption, creates nothing twice. The service also runs it every GUPY_RECONCILE_MINUTES.',
  async run (ctx) {
    const { config, args, out } = ctx
    options(args, {})
    const mapping = loadMapping(config.MAPPING_FILE)
    return await withDatabase(config, async (db) => {
      const api = gupyClient(config, ctx, API_PERMISSIONS, sharedBudget(db))
      const store = createRepositories(db)
      const startedAt = Date.now()
      try {
        const summary = await runReconciliation({
          api,
          store,
          onJob: (done, total) => { if (done % 10 === 0 || done === total) out(`  jobs ${done} / ${total}\n`) },
          onLeftOut: (message) => { ctx.err(`Gupy: ${message}\n`) }
        })
        createMapper(store, { mapping, timeZone: config.TIMEZONE, extras: { baseLegal: config.RUBEUS_BASE_LEGAL, origem: config.RUBEUS_ORIGEM } }).catchUp()
        store.gupy.saveRun({ kind: 'reconcile', startedAt, finishedAt: Date.now(), ok: true, summary: { ...summary } })
        out(`${reconcileSummaryLine(summary)}\n`)
        return 0
      } catch (err) {
        store.gupy.saveRun({ kind: 'reconcile', startedAt, finishedAt: Date.now(), ok: false, summary: {}, error: safeReason(err) })
        return apiFailure(ctx, err)
      }
    })
  }
}
