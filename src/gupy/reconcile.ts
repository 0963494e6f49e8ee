/**
 * Reconciliation: outcomes Gupy never posts. For each job with open applications the bridge knows,
 * Gupy's API is asked for that job's reproved and withdrawn applications; each known, still open one
 * becomes one stored delivery `gupy-api:<applicationId>:<status>`, mapped like any other.
 */
import { OUTCOME_STATUSES, type OutcomeStatus } from '../vocabulary/gupy-events.js'
import { GupyApiError, type GupyApi } from './api.js'
import { apiDelivery, applicationId, type RestApplication } from './rest.js'
import { CUT_REASONS, noCuts, noSkips, type CutReason, type SkipReason } from '../vocabulary/gupy-api.js'
import type { Repositories } from '../store/repositories.js'
import { whenFree } from '../store/contention.js'

export interface ReconcileSummary {
  /** Jobs asked about; of them, those the API answered 404 for. */
  jobs: number
  jobsGone: number
  /** Applications listed by the API in an outcome status. */
  applications: number
  /** New outcome deliveries stored, per status. */
  outcomes: Record<OutcomeStatus, number>
  /** Applications listed but not usable, by reason: never stored, never collapsed with another. */
  skipped: Record<SkipReason, number>
  /** Listings cut short because Gupy's pages misbehaved, by reason. */
  cut: Record<CutReason, number>
  /** HTTP requests made (retries included). */
  calls: number
  /** Milliseconds waited for Gupy's request budget (shared with other processes), and 429s answered. */
  budgetWaitMs: number
  rateLimited: number
  ms: number
}

export interface ReconcileOptions {
  api: GupyApi
  store: Pick<Repositories, 'db' | 'inbox' | 'gupy'>
  now?: () => number
  /** Told after each job. */
  onJob?: (done: number, total: number) => void
  /** Told when a listing is cut short, in one line (no personal data). */
  onLeftOut?: (message: string) => void
}

export const applicationsPath = (jobId: string) => `/api/v1/jobs/${encodeURIComponent(jobId)}/applications`

export async function reconcile ({ api, store, now = Date.now, onJob, onLeftOut }: ReconcileOptions): Promise<ReconcileSummary> {
  const started = now()
  const callsBefore = api.requests()
  const waitsBefore = api.waits()
  const { db, inbox, gupy } = store
  const summary: ReconcileSummary = {
    jobs: 0, jobsGone: 0, applications: 0, outcomes: { reproved: 0, give_up: 0 }, skipped: noSkips(), cut: noCuts(), calls: 0, budgetWaitMs: 0, rateLimited: 0, ms: 0
  }

  /** One page in one transaction: the delivery and the application's end go together, or neither. */
  const storePage = db.transaction((jobId: string, status: OutcomeStatus, items: RestApplication[], at: number) => {
    for (const application of items) {
      const id = applicationId(application.id)
      if (id === undefined) {
        summary.skipped.noId++
        continue
      }
      if (application.status !== undefined && application.status !== status) continue
      if (!gupy.isOpen(id)) continue // unknown to the bridge, or ended already
      const delivery = apiDelivery('status', { ...application, status }, { id: jobId }, at)
      if (typeof delivery === 'string') {
        summary.skipped[delivery]++ // asked again next time: the application stays open
        continue
      }
      const outcome = inbox.record(delivery)
      gupy.end(id, status)
      if (outcome === 'accepted') summary.outcomes[status]++
    }
  })

  const jobs = gupy.openJobs()
  for (const jobId of jobs) {
    summary.jobs++
    try {
      for (const status of OUTCOME_STATUSES) {
        for await (const page of api.listPages<RestApplication>(applicationsPath(jobId), { status, fields: 'all' }, 'application')) {
          if (page.cut !== undefined) {
            summary.cut[page.cut]++
            onLeftOut?.(`job ${jobId}'s ${status} applications: ${CUT_REASONS[page.cut]} (page ${page.page}); the listing was cut there`)
            continue
          }
          summary.applications += page.items.length
          await whenFree(() => storePage.immediate(jobId, status, page.items, now()))
        }
      }
      await whenFree(() => gupy.jobFound(jobId))
    } catch (err) {
      if (!(err instanceof GupyApiError) || err.status !== 404) throw err
      await whenFree(() => gupy.jobMissing(jobId)) // gone from Gupy: asked a few more times, then no more
      summary.jobsGone++
    }
    onJob?.(summary.jobs, jobs.length)
  }
  summary.calls = api.requests() - callsBefore
  summary.budgetWaitMs = Math.round(api.waits().ms - waitsBefore.ms)
  summary.rateLimited = api.waits().rateLimited - waitsBefore.rateLimited
  summary.ms = now() - started
  return summary
}
