/** The mapping file: what an operator can change without code, its schema, defaults and loader. */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from '../errors.js'
import { APPLICATION_EVENTS, APPLICATION_STATUSES } from '../vocabulary/gupy-events.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import { foldText } from '../vocabulary/formats.js'
import { DEFAULT_OPPORTUNITY_MODE, OPPORTUNITY_MODES, defaultCodTipo, defaultTitulo } from '../vocabulary/rubeus-api.js'
import { TEMPLATE_MAX_BYTES, TEMPLATE_SYNTAX, templatePaths } from './template.js'

/** A dotted path into the Gupy delivery, e.g. `data.job.code` (see README, "The mapping file"). */
const source = z.string().trim().regex(/^[^.]+(\.[^.]+)*$/, 'must be a dotted path such as data.job.code')
const columns = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Rubeus column name: letters, digits and _'),
  source)
const template = z.string().min(1)
  .refine((t) => Buffer.byteLength(t) <= TEMPLATE_MAX_BYTES, `a template is at most ${TEMPLATE_MAX_BYTES / 1024} KB`)
  .refine((t) => TEMPLATE_SYNTAX.test(t), 'placeholders must look like {{data.job.name}} or {{path|fallback}}')
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
  /** The feed's event type in Rubeus's CRM API (push delivery; `setup-rubeus` creates it). Default: gupy-<name>. */
  codTipo: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'letters, digits, "-", "_", "." and ":", at most 100').optional(),
  /** The event type's title in Rubeus. Default: Gupy: <name>. */
  titulo: z.string().trim().min(1).max(255, 'Rubeus takes at most 255 characters').optional(),
  /** Whether an event of this type creates an opportunity in Rubeus: 1 always, 2 through a flow, 3 never (default). */
  formaCriacaoOportunidade: z.literal(OPPORTUNITY_MODES, 'must be 1 (always creates an opportunity), 2 (only through an automation flow) or 3 (never)').optional(),
  ...eventSources
})

/** A feed's event type code as compared with Rubeus's list: case does not make two types. */
const codTipoOf = (f: { name: string, codTipo?: string | undefined }) => (f.codTipo ?? defaultCodTipo(f.name)).toLowerCase()

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
    .refine((feeds) => new Set(feeds.map(codTipoOf)).size === feeds.length, 'two feeds have the same codTipo (each feed has its own event type)')
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
  codTipo: string
  titulo: string
  formaCriacaoOportunidade: typeof OPPORTUNITY_MODES[number]
  /** Folded step names, ready for comparison. */
  onlySteps?: ReadonlySet<string>
  skipSteps: ReadonlySet<string>
  onlyStatuses?: ReadonlySet<string>
}

/** The mapping, resolved: defaults applied, step names folded. */
export interface Mapping {
  contactKey: ReadonlyArray<'cpf' | 'email'>
  contactColumns: Readonly<Record<string, string>>
  feeds: readonly Feed[]
  /** Paths the mapping reads that are no field of Gupy's documented payload (a typo gives a fallback forever): warned at start-up. */
  unknownPaths: readonly string[]
}

/**
 * The fields of Gupy's documented application payload (and those seen in real bodies), as dotted
 * paths; a trailing `.*` takes anything below (custom fields, lists, free-form objects).
 */
const GUPY_FIELDS = [
  'companyName', 'id', 'event', 'date',
  'data.job.id', 'data.job.name', 'data.job.code', 'data.job.type', 'data.job.quickApply',
  'data.job.departmentCode', 'data.job.roleCode', 'data.job.branchCode', 'data.job.customFields.*',
  ...['department', 'role', 'branch'].flatMap((o) => ['id', 'name', 'code', 'similarity'].map((k) => `data.job.${o}.${k}`)),
  'data.application.id', 'data.application.score', 'data.application.partnerName', 'data.application.tags.*',
  'data.application.status', 'data.application.preHiringInformation.*', 'data.application.vacancyCode',
  'data.application.hiringDate', 'data.application.createdAt', 'data.application.updatedAt', 'data.application.endedAt',
  'data.application.disapprovalReason', 'data.application.disapprovalReasonNotes',
  ...['currentStep', 'previousStep'].flatMap((s) => ['id', 'name', 'type'].map((k) => `data.application.${s}.${k}`)),
  ...['id', 'name', 'lastName', 'email', 'identificationDocument', 'countryOfOrigin', 'birthdate', 'addressZipCode',
    'addressStreet', 'addressNumber', 'addressDistrict', 'addressNeighborhood', 'addressCity', 'addressState',
    'addressStateShortName', 'addressCountry', 'addressCountryShortName', 'mobileNumber', 'phoneNumber', 'schooling',
    'schoolingStatus', 'disabilities', 'gender'].map((k) => `data.candidate.${k}`)
]
const KNOWN_FIELDS = new Set(GUPY_FIELDS.filter((p) => !p.endsWith('.*')))
const KNOWN_PREFIXES = GUPY_FIELDS.filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -1))
const isGupyField = (path: string) => KNOWN_FIELDS.has(path) || KNOWN_PREFIXES.some((prefix) => path.startsWith(prefix))

/** Every path the mapping reads from a delivery: templates' placeholders and field sources. */
function pathsRead (file: MappingFile): string[] {
  const sources = (s: z.infer<z.ZodObject<typeof eventSources>>) =>
    [s.codOferta, s.codCurso, s.codLocalOferta, s.codRegistro, ...Object.values(s.camposPersonalizados ?? {})]
  return [
    ...Object.values(file.contact.camposPersonalizados),
    ...sources(file.event),
    ...file.feeds.flatMap((f) => [...templatePaths(f.descricao), ...sources(f)])
  ].filter((p): p is string => p !== undefined)
}

const foldAll = (steps: readonly string[]) => new Set(steps.map(foldText))

export function resolveMapping (file: MappingFile): Mapping {
  const feeds = file.feeds.map((f): Feed => ({
    ...file.event,
    ...f,
    camposPersonalizados: { ...file.event.camposPersonalizados, ...f.camposPersonalizados },
    tipoData: f.tipoData ?? f.name,
    codTipo: f.codTipo ?? defaultCodTipo(f.name),
    titulo: f.titulo ?? defaultTitulo(f.name),
    formaCriacaoOportunidade: f.formaCriacaoOportunidade ?? DEFAULT_OPPORTUNITY_MODE,
    onlySteps: f.steps === undefined ? undefined : foldAll(f.steps),
    skipSteps: foldAll(f.excludedSteps ?? (f.statuses === undefined ? file.excludedSteps : [])),
    onlyStatuses: f.statuses === undefined ? undefined : new Set(f.statuses)
  }))
  return {
    contactKey: file.contactKey,
    contactColumns: file.contact.camposPersonalizados,
    feeds,
    unknownPaths: [...new Set(pathsRead(file).filter((p) => !isGupyField(p)))]
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
