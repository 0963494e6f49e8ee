/**
 * Import: applications that exist in Gupy but never came as webhooks (from before the
 * subscriptions), stored as deliveries `gupy-api:<applicationId>:import`. Ids deduplicate, so a
 * second import adds nothing; the jobs an interrupted import finished are skipped when it resumes.
 */
import { GupyApiError, type GupyApi, type Page } from './api.js'
import { applicationsPath } from './reconcile.js'
import { applicationId, apiDelivery, type RestApplication, type RestJob } from './rest.js'
import { CUT_REASONS, noCuts, noSkips, type CutReason, type SkipReason } from '../vocabulary/gupy-api.js'
import type { Repositories } from '../store/repositories.js'

export interface ImportSummary {
  /** Jobs chosen; finished by an earlier, interrupted run (skipped); answered 404. */
  jobs: number
  jobsResumed: number
  jobsGone: number
  /** Applications listed; of them, new deliveries stored (or, in a dry run, that would be). */
  applications: number
  added: number
  /** Applications listed but not stored, by reason (never stored, never collapsed with another). */
  skipped: Record<SkipReason, number>
  /** Listings (of jobs, of a job's applications) cut short because Gupy's pages misbehaved, by reason. */
  cut: Record<CutReason, number>
  pages: number
  calls: number
  /** Milliseconds waited for Gupy's request budget (shared with other processes), and 429s answered. */
  budgetWaitMs: number
  rateLimited: number
  ms: number
}

export interface ImportProgress {
  jobsDone: number
  jobs: number
  applications: number
  elapsedMs: number
  budgetWaitMs: number
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
  /** Told when a listing is cut short or a listed job has no usable id, in one line (no personal data). */
  onLeftOut?: (message: string) => void
  /** Awaited after each stored page (the command maps what it stored, leaving the lock to the service between transactions). */
  afterPage?: () => void | Promise<void>
}

export async function importApplications (opts: ImportOptions): Promise<ImportSummary> {
  const { api, store: { db, inbox, gupy }, dryRun = false, now = Date.now } = opts
  const started = now()
  const callsBefore = api.requests()
  const waitsBefore = api.waits()
  const waitedMs = () => api.waits().ms - waitsBefore.ms
  const summary: ImportSummary = {
    jobs: 0, jobsResumed: 0, jobsGone: 0, applications: 0, added: 0, skipped: noSkips(), cut: noCuts(), pages: 0, calls: 0, budgetWaitMs: 0, rateLimited: 0, ms: 0
  }
  /** A page cut short is counted and told; `true` when the page is that marker. */
  const wasCut = (page: Page<unknown>, listing: string) => {
    if (page.cut === undefined) return false
    summary.cut[page.cut]++
    opts.onLeftOut?.(`${listing}: ${CUT_REASONS[page.cut]} (page ${page.page}); the listing was cut there`)
    return true
  }

  let jobs: RestJob[] = []
  if (opts.jobIds !== undefined && opts.jobIds.length > 0) jobs = opts.jobIds.map((id) => ({ id }))
  else {
    for await (const page of api.listPages<RestJob>('/api/v1/jobs', { status: opts.jobStatus }, 'job')) {
      if (wasCut(page, 'the job list')) continue
      summary.pages++
      const usable = page.items.filter((job) => applicationId(job.id) !== undefined)
      // A job without a usable id cannot be asked for its applications.
      if (usable.length < page.items.length) opts.onLeftOut?.(`the job list: ${page.items.length - usable.length} job(s) without a usable id (page ${page.page}), left out`)
      jobs.push(...usable)
    }
    jobs = [...new Map(jobs.map((job) => [String(job.id), job])).values()] // a job listed twice is imported once
  }
  summary.jobs = jobs.length

  const skip = (reason: SkipReason) => { summary.skipped[reason]++ }
  const exists = db.prepare<[string], number>('SELECT 1 FROM deliveries WHERE event_id = ?').pluck()
  const storePage = db.transaction((items: RestApplication[], job: RestJob, at: number) => {
    for (const application of items) {
      const delivery = apiDelivery('import', application, job, at)
      if (typeof delivery === 'string') skip(delivery)
      else if (inbox.record(delivery) === 'accepted') summary.added++
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
        if (wasCut(page, `job ${jobId}'s applications`)) continue
        summary.pages++
        summary.applications += page.items.length
        if (dryRun) {
          for (const application of page.items) {
            const delivery = apiDelivery('import', application, job, now())
            if (typeof delivery === 'string') skip(delivery)
            else if (exists.get(delivery.eventId) === undefined) summary.added++
          }
        } else {
          storePage.immediate(page.items, job, now())
          await opts.afterPage?.()
        }
        opts.onProgress?.({ jobsDone: done, jobs: jobs.length, applications: summary.applications, elapsedMs: now() - started, budgetWaitMs: waitedMs() })
      }
    } catch (err) {
      if (!(err instanceof GupyApiError) || err.status !== 404) throw err
      summary.jobsGone++
    }
    done++
    if (!dryRun) gupy.markImported(jobId, now())
    opts.onProgress?.({ jobsDone: done, jobs: jobs.length, applications: summary.applications, elapsedMs: now() - started, budgetWaitMs: waitedMs() })
  }
  if (!dryRun) gupy.clearImported() // a whole import finished: the next one starts over (and adds only what is new)
  summary.calls = api.requests() - callsBefore
  summary.budgetWaitMs = Math.round(waitedMs())
  summary.rateLimited = api.waits().rateLimited - waitsBefore.rateLimited
  summary.ms = now() - started
  return summary
}
