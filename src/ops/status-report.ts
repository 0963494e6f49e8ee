/** The status report: what `status --json` prints and `GET /console/status.json` returns, built in one place. */
import type { Repositories } from '../store/repositories.js'
import { isDamage, sqliteCode } from '../store/sqlite.js'
import { iso, reportFacts, VERSION, type ReportFacts, type ReportOptions, type ServiceInfo } from './report-facts.js'
import { damagedVerdict, judge, type Verdict } from './verdict.js'

/** What the service knows of damage to its file (the store's health); commands have none. */
interface Damage {
  damaged?: string | undefined
  report: (err: unknown) => void
}

/**
 * The report of a damaged database file: nothing is read from it, the verdict says so. The
 * service's start-up refuses such a file; this is damage met while running, or by `status`.
 */
export interface DamagedReport {
  generatedAt: string
  version: string
  /** SQLite's code for the damage (SQLITE_CORRUPT, SQLITE_NOTADB). */
  damaged: string
  service: ServiceInfo | null
  verdict: Verdict
}

/**
 * Reads only small tables and indexes: its cost does not grow with the inbox. Given the store's
 * health (`writes`), a file known to be damaged is not read, and damage met here is reported to it.
 */
export function statusReport (repositories: Repositories & { writes?: Damage }, opts: ReportOptions): StatusReport {
  const damaged = (code: string): DamagedReport => damagedReport(code, opts)
  if (repositories.writes?.damaged !== undefined) return damaged(repositories.writes.damaged)
  let facts: ReportFacts
  try {
    facts = reportFacts(repositories, opts)
  } catch (err) {
    if (!isDamage(err)) throw err
    repositories.writes?.report(err)
    return damaged(sqliteCode(err) ?? 'SQLITE_CORRUPT')
  }
  return { ...facts, damaged: null, verdict: judge(facts, opts.now) }
}

/** The report of a file found damaged, whatever read it first (even the schema, before any repository exists). */
export function damagedReport (code: string, opts: Pick<ReportOptions, 'now' | 'service'>): DamagedReport {
  return { generatedAt: iso(opts.now)!, version: VERSION, damaged: code, service: opts.service ?? null, verdict: damagedVerdict(code) }
}

/** The report of a sound database file. */
export type FullReport = ReportFacts & { damaged: null, verdict: Verdict }
export type StatusReport = FullReport | DamagedReport
