/**
 * Import: applications that exist in Gupy but never came as webhooks (from before the
 * subscriptions), stored as deliveries `gupy-api:<applicationId>:import`. Ids deduplicate, so a
 * second import adds nothing; the jobs an interrupted import finished are skipped when it resumes.
 */
import { GupyApiError, type GupyApi } from './api.js'
import { applicationsPath } from './reconcile.js'
import { apiDelivery, type RestApplication, type RestJob } from './rest.js'
import type { Repositories } from '../store/repositories.js'

export interface ImportSummary {
  /** Jobs chosen; finished by an earlier, interrupted run (skipped); answered 404. */
  jobs: number
  jobsResumed: number
  jobsGone: number
  /** Applications listed; of them, new deliveries stored (or, in a dry run, that would be). */
  applications: number
  added: number
  pages: number
  calls: number
  ms: number
}

export interface ImportProgress {
  jobsDone: number
  jobs: number
  applications: number
  elapsedMs: number
}

export interface ImportOptions {
  api: GupyApi
  store: Pick<Repositories, 'db' | 'inbox' | 'gupy'>
  /** Only these jobs; default: every job the API lists (with `jobStatus`, those in that status). */
  jobIds?: string[] | undefined
  jobStatus?: string | undefined
  /** Lists and counts, stores nothing. */
  dryRun?: boolean
  now?: () => number
  /** Told after each page. */
  onProgress?: (progress: ImportProgress) => void
  /** Awaited after each stored page (the command maps what it stored, leaving the lock to the service between transactions). */
  afterPage?: () => void | Promise<void>
}

export async function importApplications (opts: ImportOptions): Promise<ImportSummary> {
  const { api, store: { db, inbox, gupy }, dryRun = false, now = Date.now } = opts
  const started = now()
  const callsBefore = api.requests()
  const summary: ImportSummary = { jobs: 0, jobsResumed: 0, jobsGone: 0, applications: 0, added: 0, pages: 0, calls: 0, ms: 0 }

  let jobs: RestJob[]
  if (opts.jobIds !== undefined && opts.jobIds.length > 0) jobs = opts.jobIds.map((id) => ({ id }))
  else {
    jobs = []
    for await (const page of api.listPages<RestJob>('/api/v1/jobs', { status: opts.jobStatus }, 'job')) {
      summary.pages++
      jobs.push(...page.items)
    }
  }
  summary.jobs = jobs.length

  const exists = db.prepare<[string], number>('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
  const storePage = db.transaction((items: RestApplication[], job: RestJob, at: number) => {
    for (const application of items) {
      if (inbox.record(apiDelivery('import', application, job, at)) === 'accepted') summary.added++
    }
  })

  const finished = gupy.importedJobs()
  let done = 0
  for (const job of jobs) {
    const jobId = String(job.id)
    if (!dryRun && finished.has(jobId)) {
      summary.jobsResumed++
      done++
      continue
    }
    try {
      for await (const page of api.listPages<RestApplication>(applicationsPath(jobId), { fields: 'all' }, 'application')) {
        summary.pages++
        summary.applications += page.items.length
        if (dryRun) summary.added += page.items.filter((a) => exists.get(apiDelivery('import', a, job, 0).eventId) === undefined).length
        else {
          storePage.immediate(page.items, job, now())
          await opts.afterPage?.()
        }
        opts.onProgress?.({ jobsDone: done, jobs: jobs.length, applications: summary.applications, elapsedMs: now() - started })
      }
    } catch (err) {
      if (!(err instanceof GupyApiError) || err.status !== 404) throw err
      summary.jobsGone++
    }
    done++
    if (!dryRun) gupy.markImported(jobId, now())
    opts.onProgress?.({ jobsDone: done, jobs: jobs.length, applications: summary.applications, elapsedMs: now() - started })
  }
  if (!dryRun) gupy.clearImported() // a whole import finished: the next one starts over (and adds only what is new)
  summary.calls = api.requests() - callsBefore
  summary.ms = now() - started
  return summary
}
