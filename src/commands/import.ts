/** `import`: applications from before the bridge, from Gupy's API into the contacts feed, with progress. */
import { safeReason } from '../gupy/api.js'
import { importApplications, type ImportProgress } from '../gupy/import.js'
import { budgetWaitText, leftOut } from '../vocabulary/gupy-api.js'
import { createMapper } from '../mapping/mapper.js'
import { loadMapping } from '../mapping/mapping-file.js'
import { sharedBudget } from '../store/gupy-budget.js'
import { createRepositories } from '../store/repositories.js'
import { politePause } from '../store/contention.js'
import { UsageError, options, withDatabase, type Command } from './command.js'
import { API_PERMISSIONS } from './reconcile.js'
import { apiFailure, gupyClient } from './webhooks.js'

/** `3 min`, `42 s`. */
const duration = (ms: number) => ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`

export function progressLine (p: ImportProgress): string {
  const rate = p.elapsedMs > 0 ? p.applications / (p.elapsedMs / 1000) : 0
  const left = p.jobsDone > 0 && p.jobsDone < p.jobs ? `, about ${duration(p.elapsedMs / p.jobsDone * (p.jobs - p.jobsDone))} left` : ''
  const waited = budgetWaitText(p.budgetWaitMs, 0)
  return `  jobs ${p.jobsDone} / ${p.jobs}, applications ${p.applications} (${rate.toFixed(0)}/s)${left}${waited === '' ? '' : `; ${waited} so far`}`
}

export const importCommand: Command = {
  summary: 'bring applications that never came as webhooks (e.g. from before the subscriptions) into the contacts feed',
  usage: 'gupy-rubeus-bridge import [--job <id>…] [--job-status <status>] [--dry-run]\n\n' +
    '  --job         only this job (repeat for more); default: every job Gupy\'s API lists\n' +
    '  --job-status  list only jobs in this status (published, closed, …)\n' +
    '  --dry-run     list and count, store nothing\n\n' +
    'Needs GUPY_API_TOKEN. Each application is stored once (a second import adds nothing; newer webhooks\n' +
    'still win); an interrupted import resumes after the jobs it finished. No events unless the mapping\n' +
    'file lists application.imported in a feed. Costs one API call per 100 jobs and per 100 applications,\n' +
    'within GUPY_API_REQUESTS_PER_MINUTE shared with the service and every other command on the database.',
  async run (ctx) {
    const { config, args, out } = ctx
    const { values } = options(args, {
      job: { type: 'string', multiple: true },
      'job-status': { type: 'string' },
      'dry-run': { type: 'boolean', default: false }
    })
    const jobIds = values.job ?? []
    const bad = jobIds.filter((id) => !/^\d+$/.test(id))
    if (bad.length > 0) throw new UsageError(`--job must be a Gupy job id (digits): ${bad.join(', ')}`)
    if (values['job-status'] !== undefined && !/^[a-z_]+$/.test(values['job-status'])) throw new UsageError('--job-status must be a Gupy job status such as published or closed')
    const dryRun = values['dry-run']
    const mapping = loadMapping(config.MAPPING_FILE)
    return await withDatabase(config, async (db) => {
      const api = gupyClient(config, ctx, API_PERMISSIONS, sharedBudget(db))
      const store = createRepositories(db)
      const mapper = createMapper(store, { mapping, timeZone: config.TIMEZONE, extras: { baseLegal: config.RUBEUS_BASE_LEGAL, origem: config.RUBEUS_ORIGEM } })
      const startedAt = Date.now()
      const pause = politePause()
      let shownAt = 0
      try {
        const summary = await importApplications({
          api,
          store,
          jobIds,
          jobStatus: values['job-status'],
          dryRun,
          // Each page is one write transaction, then mapped 100 deliveries per transaction, with pauses between.
          afterPage: async () => {
            await pause()
            for (let n = mapper.step(100); n > 0; n = mapper.step(100)) await pause()
          },
          onLeftOut: (message) => { ctx.err(`Gupy: ${message}\n`) },
          onProgress: (p) => {
            if (Date.now() - shownAt < 1000 && p.jobsDone < p.jobs) return
            shownAt = Date.now()
            out(`${progressLine(p)}\n`)
          }
        })
        if (!dryRun) store.gupy.saveRun({ kind: 'import', startedAt, finishedAt: Date.now(), ok: true, summary: { ...summary } })
        const resumed = summary.jobsResumed > 0 ? ` (${summary.jobsResumed} finished by the interrupted run, skipped)` : ''
        const gone = summary.jobsGone > 0 ? `; ${summary.jobsGone} jobs no longer in Gupy` : ''
        const left = leftOut(summary.skipped, summary.cut)
        out(`${dryRun ? 'dry run: ' : ''}jobs: ${summary.jobs}${resumed}${gone}; applications: ${summary.applications}; ` +
          `${dryRun ? 'would add' : 'added'}: ${summary.added}; pages: ${summary.pages}; API calls: ${summary.calls}; time: ${(summary.ms / 1000).toFixed(1)} s\n`)
        if (left !== '') out(`left out: ${left}\n`)
        const waited = budgetWaitText(summary.budgetWaitMs, summary.rateLimited)
        if (waited !== '') out(`${waited}\n`)
        return 0
      } catch (err) {
        if (!dryRun) store.gupy.saveRun({ kind: 'import', startedAt, finishedAt: Date.now(), ok: false, summary: {}, error: safeReason(err) })
        out('the import stopped; run it again to resume after the jobs it finished\n')
        return apiFailure(ctx, err)
      }
    })
  }
}
