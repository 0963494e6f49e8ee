/**
 * Gupy's REST shapes (jobs, a job's applications with `fields=all`) turned into stored deliveries
 * shaped like a webhook's `{ id, event, date, data: { job, application, candidate } }`, so that the
 * usual mapping, last-writer-wins, dedupe and feeds apply to them. What they carry is personal data.
 */
import { outsideDateWindow, parseEventDate } from './envelope.js'
import { API_ID_PREFIX } from '../vocabulary/gupy-events.js'
import type { Delivery } from '../store/inbox.js'
import type { SkipReason } from '../vocabulary/gupy-api.js'

/** A job as `GET /api/v1/jobs` lists it (only what the bridge reads). */
export interface RestJob { id: number | string, name?: string, status?: string }

/** An application as `GET /api/v1/jobs/{jobId}/applications?fields=all` lists it (only what the bridge reads). */
export interface RestApplication {
  id: number | string
  status?: string
  endedAt?: string | null
  createdAt?: string | null
  updatedAt?: string | null
  job?: { id?: number | string, name?: string } | null
  candidate?: Record<string, unknown> | null
  [key: string]: unknown
}

/** The candidate fields a webhook carries (gupy.md §4); the rest of the REST record is not kept. */
const CANDIDATE_FIELDS = ['id', 'name', 'lastName', 'email', 'identificationDocument', 'countryOfOrigin', 'birthdate',
  'addressZipCode', 'addressStreet', 'addressNumber', 'addressDistrict', 'addressNeighborhood', 'addressCity', 'addressState',
  'addressStateShortName', 'addressCountry', 'addressCountryShortName', 'mobileNumber', 'phoneNumber', 'schooling',
  'schoolingStatus', 'disabilities', 'gender']

/** The application fields kept, as a webhook names them. */
const APPLICATION_FIELDS = ['id', 'status', 'score', 'partnerName', 'tags', 'currentStep', 'vacancyCode', 'hiringDate',
  'createdAt', 'updatedAt', 'endedAt', 'disapprovalReason', 'disapprovalReasonNotes']

const pick = (from: Record<string, unknown>, keys: readonly string[]) =>
  Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]]))

/** The first of these REST dates that parses, as epoch milliseconds. */
function firstDate (...values: unknown[]): number | undefined {
  for (const value of values) {
    if (typeof value !== 'string') continue
    const ms = parseEventDate(value)
    if (ms !== undefined) return ms
  }
  return undefined
}

/** `{ job, application, candidate }` as in a webhook: `gender` as Gupy's webhooks write it (Male / Female). */
export function webhookData (application: RestApplication, job: RestJob): Record<string, unknown> {
  const candidate = pick(application.candidate ?? {}, CANDIDATE_FIELDS)
  if (typeof candidate.gender === 'string') {
    const g = candidate.gender.trim().toLowerCase()
    if (g === 'male' || g === 'female') candidate.gender = g === 'male' ? 'Male' : 'Female'
  }
  const step = application.currentStep as { id?: unknown, name?: unknown } | null | undefined
  return {
    job: { id: application.job?.id ?? job.id, name: application.job?.name ?? job.name },
    application: {
      ...pick(application, APPLICATION_FIELDS),
      currentStep: step == null ? undefined : { id: step.id, name: step.name }
    },
    candidate
  }
}

export type ApiDeliveryKind = 'status' | 'import'

/**
 * The application's id as the delivery id carries it: a positive integer, or a short token of letters,
 * digits, `-` and `_`; undefined for anything else (missing, null, an object, a colon that would
 * run into the id's next part).
 */
export function applicationId (value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? String(value) : undefined
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value) ? value : undefined
}

/**
 * The delivery for an application found through the API, or why it cannot be one:
 * - `status`: `gupy-api:<id>:<status>`, `application.status-changed`, dated by `endedAt` (else `updatedAt`, else `now`);
 * - `import`: `gupy-api:<id>:import`, `application.imported`, dated by `updatedAt` (else `createdAt`, else `now`).
 * Dates are held to the window webhooks are held to: a date far ahead would win last-writer-wins for good.
 */
export function apiDelivery (kind: ApiDeliveryKind, application: RestApplication, job: RestJob, now: number): Delivery | SkipReason {
  const id = applicationId(application.id)
  if (id === undefined) return 'noId'
  const status = typeof application.status === 'string' && application.status !== '' ? application.status : 'unknown'
  const event = kind === 'status' ? 'application.status-changed' : 'application.imported'
  const date = kind === 'status'
    ? firstDate(application.endedAt, application.updatedAt) ?? now
    : firstDate(application.updatedAt, application.createdAt) ?? now
  if (outsideDateWindow(date, now) !== undefined) return 'dateOutOfWindow'
  const eventId = `${API_ID_PREFIX}${id}:${kind === 'status' ? status : 'import'}`
  const envelope = { id: eventId, event, date: new Date(date).toISOString(), data: webhookData(application, job) }
  return { eventId, event, eventDate: date, receivedAt: now, body: JSON.stringify(envelope) }
}
