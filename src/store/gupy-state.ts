/** What the bridge keeps about Gupy's API work: open applications per job, 404 counts, import progress, last runs, its own subscriptions. */
import type { Database } from './sqlite.js'

/** After this many 404s in a row, a job is not asked about again. */
export const MAX_JOB_MISSES = 3

export type RunKind = 'watch' | 'reconcile' | 'import'

export interface Run {
  kind: RunKind
  startedAt: number
  finishedAt: number
  ok: boolean
  summary: Record<string, unknown>
  error?: string | undefined
}

/**
 * The Gupy subscriptions the bridge made its own: id → the postbackUrl it last gave them. Empty on a
 * database from before they were kept (a read-only look, as `check-webhooks` takes, does not migrate).
 */
export function ownedSubscriptions (db: Database): Map<string, string> {
  const kept = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gupy_subscriptions'").get() !== undefined
  if (!kept) return new Map()
  const rows = db.prepare<[], { id: string, postback_url: string }>('SELECT id, postback_url FROM gupy_subscriptions').all()
  return new Map(rows.map((r) => [r.id, r.postback_url]))
}

export function createGupyState (db: Database) {
  const openJobs = db.prepare<[number], string>(`
    SELECT DISTINCT a.job_id FROM applications a INDEXED BY applications_open_jobs
    WHERE a.ended_status IS NULL AND a.job_id IS NOT NULL
    AND coalesce((SELECT misses FROM gupy_jobs j WHERE j.job_id = a.job_id), 0) < ?
    ORDER BY a.job_id`).pluck()
  const openApplication = db.prepare<[string], number>(
    'SELECT 1 FROM applications WHERE application_id = ? AND ended_status IS NULL').pluck()
  const end = db.prepare<[string, string]>('UPDATE applications SET ended_status = ? WHERE application_id = ? AND ended_status IS NULL')
  const note = db.prepare<[string | null, string | null, string]>(`
    UPDATE applications SET job_id = coalesce(job_id, ?), ended_status = coalesce(ended_status, ?) WHERE application_id = ?`)
  const miss = db.prepare<[string]>(`
    INSERT INTO gupy_jobs (job_id, misses) VALUES (?, 1) ON CONFLICT (job_id) DO UPDATE SET misses = misses + 1`)
  const found = db.prepare<[string]>('UPDATE gupy_jobs SET misses = 0 WHERE job_id = ? AND misses > 0')
  const imported = db.prepare<[string, number]>(`
    INSERT INTO gupy_jobs (job_id, imported_at) VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET imported_at = excluded.imported_at`)
  const importedJobs = db.prepare<[], string>('SELECT job_id FROM gupy_jobs WHERE imported_at IS NOT NULL').pluck()
  const clearImported = db.prepare('UPDATE gupy_jobs SET imported_at = NULL WHERE imported_at IS NOT NULL')
  const saveRun = db.prepare<[string, number, number, number, string, string | null]>(`
    INSERT INTO gupy_runs (kind, started_at, finished_at, ok, summary, error) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (kind) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at,
      ok = excluded.ok, summary = excluded.summary, error = excluded.error`)
  const recordSubscription = db.prepare<[string, string, string, number]>(`
    INSERT INTO gupy_subscriptions (id, action, postback_url, recorded_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET action = excluded.action, postback_url = excluded.postback_url, recorded_at = excluded.recorded_at`)
  const runs = db.prepare<[], { kind: RunKind, started_at: number, finished_at: number, ok: number, summary: string, error: string | null }>(
    'SELECT kind, started_at, finished_at, ok, summary, error FROM gupy_runs')

  return {
    /** Jobs with applications the bridge knows that have not ended, without those gone from the API. */
    openJobs: (): string[] => openJobs.all(MAX_JOB_MISSES),
    /** Whether the bridge knows the application and it has not ended. */
    isOpen: (applicationId: string): boolean => openApplication.get(applicationId) !== undefined,
    /** Records the status that ended the application; it is not asked about again. */
    end: (applicationId: string, status: string): void => { end.run(status, applicationId) },
    /** What a mapped delivery says about its application: its job, and its status when that ends it. */
    note: (applicationId: string, jobId: string | undefined, endedStatus: string | undefined): void => {
      note.run(jobId ?? null, endedStatus ?? null, applicationId)
    },
    /** The API answered 404 for the job (once more), or answered for it. */
    jobMissing: (jobId: string): void => { miss.run(jobId) },
    jobFound: (jobId: string): void => { found.run(jobId) },
    /** Import progress: the jobs the running import has finished, cleared when a whole import finishes. */
    markImported: (jobId: string, now: number): void => { imported.run(jobId, now) },
    importedJobs: (): Set<string> => new Set(importedJobs.all()),
    clearImported: (): void => { clearImported.run() },

    /** The subscriptions the bridge made its own: id → the postbackUrl it last gave them. */
    ownedSubscriptions: (): Map<string, string> => ownedSubscriptions(db),
    /** Keeps a subscription the bridge created, repaired or found at its exact address as its own, posting to `postbackUrl`. */
    recordSubscription: (id: string, action: string, postbackUrl: string, now: number): void => {
      recordSubscription.run(id, action, postbackUrl, now)
    },

    saveRun (run: Run): void {
      saveRun.run(run.kind, run.startedAt, run.finishedAt, run.ok ? 1 : 0, JSON.stringify(run.summary), run.error ?? null)
    },
    /** The last run of each kind. */
    lastRuns (): Partial<Record<RunKind, Run>> {
      return Object.fromEntries(runs.all().map((r) => [r.kind, {
        kind: r.kind, startedAt: r.started_at, finishedAt: r.finished_at, ok: r.ok === 1, summary: JSON.parse(r.summary), error: r.error ?? undefined
      }]))
    }
  }
}

export type GupyState = ReturnType<typeof createGupyState>
