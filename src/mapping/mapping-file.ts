/** The mapping file: what an operator can change without code, its schema, defaults and loader. */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from '../errors.js'
import { APPLICATION_EVENTS, APPLICATION_STATUSES } from '../gupy/events.js'
import { CONTACTS_FEED } from '../rubeus/contract.js'
import { foldText } from './formats.js'
import { TEMPLATE_SYNTAX } from './template.js'

/** A dotted path into the Gupy delivery, e.g. `data.job.code` (see README, "The mapping file"). */
const source = z.string().trim().regex(/^[^.]+(\.[^.]+)*$/, 'must be a dotted path such as data.job.code')
const columns = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Rubeus column name: letters, digits and _'),
  source)
const template = z.string().min(1).refine((t) => TEMPLATE_SYNTAX.test(t), 'placeholders must look like {{data.job.name}} or {{path|fallback}}')
const stepList = z.array(z.string().trim().min(1))

/** Event fields filled from the delivery, for every feed or per feed. */
const eventSources = {
  codOferta: source.optional(),
  codCurso: source.optional(),
  codLocalOferta: source.optional(),
  codRegistro: source.optional(),
  camposPersonalizados: columns.optional()
}

const FeedSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and hyphens')
    .refine((n) => n !== CONTACTS_FEED, `"${CONTACTS_FEED}" is the contacts feed`),
  events: z.array(z.enum(APPLICATION_EVENTS)).min(1),
  /** Only deliveries whose current step is one of these (compared ignoring case and accents). */
  steps: stepList.optional(),
  /** Only deliveries whose application status is one of these (reproved, give_up, in_process, hired). */
  statuses: z.array(z.enum(APPLICATION_STATUSES)).min(1).optional(),
  /**
   * Deliveries whose current step is one of these produce no event here; default: the top-level
   * list, except for a feed selecting by `statuses` (a reproved candidate keeps the step they were in).
   */
  excludedSteps: stepList.optional(),
  /** Default: the feed's name. */
  tipoData: z.string().trim().min(1).optional(),
  descricao: template,
  ...eventSources
})

export const MappingSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Which identifier becomes the contact's `codigo`, first valid one wins. */
  contactKey: z.array(z.enum(['cpf', 'email'])).min(1)
    .refine((keys) => new Set(keys).size === keys.length, 'lists a key twice')
    .default(['cpf', 'email']),
  excludedSteps: stepList.default(['Contratação']),
  contact: z.strictObject({ camposPersonalizados: columns.default({}) }).default({ camposPersonalizados: {} }),
  /** Event fields for every feed; a feed's own entries take precedence. */
  event: z.strictObject(eventSources).default({}),
  feeds: z.array(FeedSchema).min(1)
    .refine((feeds) => new Set(feeds.map((f) => f.name)).size === feeds.length, 'two feeds have the same name')
    .default([
      {
        name: 'candidatura',
        events: ['application.created'],
        descricao: '<p>Candidatura na vaga <b>{{data.job.name}}</b> (etapa: {{data.application.currentStep.name|não informada}}).</p>'
      },
      {
        name: 'mudanca-de-etapa',
        events: ['application.moved'],
        descricao: '<p>Mudou da etapa <b>{{data.application.previousStep.name|não informada}}</b> para a etapa <b>{{data.application.currentStep.name|não informada}}</b> na vaga <b>{{data.job.name}}</b>.</p>'
      },
      {
        name: 'reprovacao',
        events: ['application.status-changed'],
        statuses: ['reproved'],
        descricao: '<p>Reprovado(a) na vaga <b>{{data.job.name}}</b> (motivo: {{data.application.disapprovalReason|não informado}}).</p>'
      },
      {
        name: 'desistencia',
        events: ['application.status-changed'],
        statuses: ['give_up'],
        descricao: '<p>Desistiu da vaga <b>{{data.job.name}}</b> (etapa: {{data.application.currentStep.name|não informada}}).</p>'
      }
    ])
})

export type MappingFile = z.infer<typeof MappingSchema>

export interface Feed extends z.infer<typeof FeedSchema> {
  tipoData: string
  /** Folded step names, ready for comparison. */
  onlySteps?: ReadonlySet<string>
  skipSteps: ReadonlySet<string>
  onlyStatuses?: ReadonlySet<string>
}

/** The mapping, resolved: defaults applied, step names folded, feeds by name. */
export interface Mapping {
  contactKey: ReadonlyArray<'cpf' | 'email'>
  contactColumns: Readonly<Record<string, string>>
  feeds: readonly Feed[]
  feedsByName: ReadonlyMap<string, Feed>
}

const foldAll = (steps: readonly string[]) => new Set(steps.map(foldText))

export function resolveMapping (file: MappingFile): Mapping {
  const feeds = file.feeds.map((f): Feed => ({
    ...file.event,
    ...f,
    camposPersonalizados: { ...file.event.camposPersonalizados, ...f.camposPersonalizados },
    tipoData: f.tipoData ?? f.name,
    onlySteps: f.steps === undefined ? undefined : foldAll(f.steps),
    skipSteps: foldAll(f.excludedSteps ?? (f.statuses === undefined ? file.excludedSteps : [])),
    onlyStatuses: f.statuses === undefined ? undefined : new Set(f.statuses)
  }))
  return {
    contactKey: file.contactKey,
    contactColumns: file.contact.camposPersonalizados,
    feeds,
    feedsByName: new Map(feeds.map((f) => [f.name, f]))
  }
}

/** The built-in mapping (what `mapping.example.json` spells out). */
export const DEFAULT_MAPPING: Mapping = resolveMapping(MappingSchema.parse({}))

/** Reads and validates `MAPPING_FILE`; throws a ConfigError naming every problem. */
export function loadMapping (file: string | undefined): Mapping {
  if (file === undefined) return DEFAULT_MAPPING
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const reason = err instanceof SyntaxError ? `is not valid JSON (${err.message})` : `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`
    throw new ConfigError(`Invalid mapping file ${file}: ${reason}`)
  }
  const result = MappingSchema.safeParse(json)
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  - ${i.path.map(String).join('.') || '(top level)'}: ${i.message}`)
    throw new ConfigError(`Invalid mapping file ${file}:\n${[...new Set(problems)].join('\n')}`)
  }
  return resolveMapping(result.data)
}
