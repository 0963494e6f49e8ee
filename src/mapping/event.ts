/** Gupy application event → Rubeus events: which feeds take it, and the record for each. */
import { foldText, localDateTime, recordJson } from '../vocabulary/formats.js'
import type { Feed, Mapping } from './mapping-file.js'
import { fieldAt, renderTemplate, scalarAt } from './template.js'

/** The feeds whose rule selects this delivery (event type, application status, then current step). */
export function feedsFor (envelope: { event: string }, mapping: Mapping): Feed[] {
  const step = scalarAt(envelope, 'data.application.currentStep.name')
  const folded = step === undefined ? undefined : foldText(step)
  const status = scalarAt(envelope, 'data.application.status')
  return mapping.feeds.filter((feed) => {
    if (!(feed.events as readonly string[]).includes(envelope.event)) return false
    if (feed.onlyStatuses !== undefined && (status === undefined || !feed.onlyStatuses.has(status))) return false
    if (feed.onlySteps !== undefined) return folded !== undefined && feed.onlySteps.has(folded)
    return folded === undefined || !feed.skipSteps.has(folded)
  })
}

const SOURCES = ['codOferta', 'codCurso', 'codLocalOferta', 'codRegistro'] as const

/** The JSON record for one feed: its contact, description, date and the configured sources. */
export function renderEvent (envelope: unknown, eventDate: number, feed: Feed, codContato: string, timeZone: string): string {
  const record: Record<string, unknown> = {
    codContato,
    descricao: renderTemplate(feed.descricao, envelope),
    data: localDateTime(eventDate, timeZone),
    tipoData: feed.tipoData
  }
  for (const key of SOURCES) {
    const path = feed[key]
    const value = path === undefined ? undefined : scalarAt(envelope, path)
    if (value !== undefined) record[key] = value
  }
  const custom: Record<string, string | string[]> = {}
  for (const [column, path] of Object.entries(feed.camposPersonalizados ?? {})) {
    const value = fieldAt(envelope, path)
    if (value !== undefined) custom[column] = value
  }
  if (Object.keys(custom).length > 0) record.camposPersonalizados = custom
  return recordJson(record)
}
