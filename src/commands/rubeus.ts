/**
 * `check-rubeus` and `setup-rubeus`: the Rubeus tenant through its CRM API. The check only reads
 * (the address, origem and token, each feed's event type, the legal bases); the setup creates the
 * missing event types, never twice. Neither needs the database, and both work in pull mode too.
 * `retry-parked`: the records Rubeus refused in push mode, queued again once the cause is fixed.
 */
import type { Config } from '../config.js'
import { loadMapping } from '../mapping/mapping-file.js'
import { RubeusUnavailableError, createRubeusApi, type RubeusApi } from '../rubeus/api.js'
import { createEventType, eventTypesOf, listEventTypes, listLegalBases } from '../rubeus/tenant.js'
import { createPush } from '../store/push.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import { UsageError, options, withDatabase, type Command, type Context } from './command.js'

/** Attempts of each call: a command says what is wrong within seconds instead of waiting out an outage. */
const ATTEMPTS = 3

const WHERE = 'Rubeus: gear icon → Integrações → Canais/API'

/** Rubeus's API with the configured channel; waits before another attempt are told on stderr. */
export function rubeusClient (config: Config, ctx: Context): RubeusApi {
  const missing = (['RUBEUS_API_URL', 'RUBEUS_API_TOKEN', 'RUBEUS_ORIGEM'] as const).filter((key) => config[key] === undefined)
  if (missing.length > 0) {
    throw new UsageError(`set ${missing.join(', ')}: the CRM's address, and the token and origem of a channel (${WHERE})`)
  }
  return createRubeusApi({
    baseUrl: config.RUBEUS_API_URL!,
    origem: config.RUBEUS_ORIGEM!,
    token: config.RUBEUS_API_TOKEN!,
    requestsPerMinute: config.RUBEUS_API_REQUESTS_PER_MINUTE,
    timeoutMs: config.RUBEUS_API_TIMEOUT_SECONDS * 1000,
    attempts: ATTEMPTS,
    onRetry: (ms, why) => { ctx.err(`${why}; trying again in ${Math.ceil(ms / 1000)} s\n`) }
  })
}

/** What to check when the channel's calls are refused. */
const HINT = `check RUBEUS_API_URL, RUBEUS_ORIGEM and RUBEUS_API_TOKEN (${WHERE})`

export const checkRubeus: Command = {
  summary: 'check Rubeus\'s CRM API: the channel, each feed\'s event type, the legal bases and RUBEUS_BASE_LEGAL',
  usage: 'gupy-rubeus-bridge check-rubeus\n\n' +
    'Needs RUBEUS_API_URL, RUBEUS_API_TOKEN and RUBEUS_ORIGEM. Only reads (Evento/listarTipoEvento,\n' +
    'Lgpd/listarBasesLegais): whether Rubeus answers that address with that origem and token, each\n' +
    'feed\'s event type (present or missing), the tenant\'s legal bases and whether RUBEUS_BASE_LEGAL is\n' +
    'one of them. Works in pull delivery too, to find the baseLegal id. Exits 1 on a problem; a missing\n' +
    'event type is one only with RUBEUS_DELIVERY=push (`setup-rubeus` creates it).',
  async run (ctx) {
    options(ctx.args, {})
    const { config, out } = ctx
    const mapping = loadMapping(config.MAPPING_FILE)
    const api = rubeusClient(config, ctx)
    const push = config.RUBEUS_DELIVERY === 'push'
    const problems: string[] = []
    out(`Rubeus's CRM API at ${config.RUBEUS_API_URL} (origem ${config.RUBEUS_ORIGEM}, token set; delivery: ${config.RUBEUS_DELIVERY})\n`)
    try {
      const types = await listEventTypes(api)
      if (!types.ok) {
        problems.push(`event types: ${types.refused}`)
        out(`event types: could not be listed: ${types.refused}\n  ${HINT}\n`)
      } else {
        out('channel: ok (Rubeus answered with this origem and token)\nevent types (Evento/listarTipoEvento):\n')
        let missing = 0
        for (const { feed, found } of eventTypesOf(mapping.feeds, types.items)) {
          if (found === undefined) missing++
          out(`  ${feed.name}: ${feed.codTipo} ${found === undefined ? 'MISSING' : `present (id ${found.id}, "${found.titulo}")`}\n`)
        }
        if (missing > 0 && push) problems.push(`${missing} event type(s) missing`)
        if (missing > 0) out(`  ${missing} missing: run \`gupy-rubeus-bridge setup-rubeus\` to create ${missing === 1 ? 'it' : 'them'}${push ? '' : ' (needed only with RUBEUS_DELIVERY=push)'}\n`)
      }
      const bases = await listLegalBases(api)
      if (!bases.ok) {
        problems.push(`legal bases: ${bases.refused}`)
        out(`legal bases: could not be listed: ${bases.refused}\n`)
      } else {
        out('legal bases (Lgpd/listarBasesLegais):\n')
        for (const b of bases.items) out(`  ${b.id.padStart(4)}  ${b.base}${b.id === config.RUBEUS_BASE_LEGAL ? '   ← RUBEUS_BASE_LEGAL' : ''}\n`)
        if (bases.items.length === 0) out('  (none)\n')
        const chosen = bases.items.find((b) => b.id === config.RUBEUS_BASE_LEGAL)
        if (config.RUBEUS_BASE_LEGAL === undefined) {
          out('RUBEUS_BASE_LEGAL is not set: contacts carry no legal basis, which Rubeus requires when the tenant has LGPD turned on; set it to one of the ids above\n')
        } else if (chosen === undefined) {
          problems.push(`RUBEUS_BASE_LEGAL=${config.RUBEUS_BASE_LEGAL} is not one of the tenant's legal bases`)
          out(`RUBEUS_BASE_LEGAL=${config.RUBEUS_BASE_LEGAL}: NOT one of the tenant's legal bases; set it to one of the ids above\n`)
        } else {
          out(`RUBEUS_BASE_LEGAL=${chosen.id}: ok (${chosen.base})\n`)
        }
      }
    } catch (err) {
      if (!(err instanceof RubeusUnavailableError)) throw err
      ctx.err(`${err.message}: ${HINT}\n`)
      return 1
    }
    out(problems.length === 0 ? 'ok\n' : `${problems.length} problem(s)\n`)
    return problems.length === 0 ? 0 : 1
  }
}

export const setupRubeus: Command = {
  summary: 'create in Rubeus the event types the feeds need (codTipo, titulo from the mapping), never twice',
  usage: 'gupy-rubeus-bridge setup-rubeus\n\n' +
    'Needs RUBEUS_API_URL, RUBEUS_API_TOKEN and RUBEUS_ORIGEM. Lists the event types first and creates\n' +
    'only the missing ones (Evento/cadastroTipoEvento, with the codTipo, titulo and\n' +
    'formaCriacaoOportunidade of each feed in the mapping); run again, it creates nothing. A creation\n' +
    'whose answer is lost is looked up before it is tried again, so it is never made twice.',
  async run (ctx) {
    options(ctx.args, {})
    const { config, out } = ctx
    const mapping = loadMapping(config.MAPPING_FILE)
    const api = rubeusClient(config, ctx)
    let failed = 0
    try {
      const types = await listEventTypes(api)
      if (!types.ok) {
        ctx.err(`${types.refused}: ${HINT}\n`)
        return 1
      }
      for (const { feed, found } of eventTypesOf(mapping.feeds, types.items)) {
        const what = `${feed.name}: event type ${feed.codTipo}`
        if (found !== undefined) {
          out(`${what} already present (id ${found.id}, "${found.titulo}")\n`)
          continue
        }
        const made = await createEventType(api, feed, (why) => { ctx.err(`${why}; looking whether Rubeus made it before trying again\n`) })
        if (made.ok) {
          out(`${what} "${feed.titulo}" created (id ${made.id}${made.lostAnswer ? '; its answer was lost, found when listed again' : ''})\n`)
        } else {
          failed++
          out(`${what}: NOT created: ${made.refused}\n`)
        }
      }
    } catch (err) {
      if (!(err instanceof RubeusUnavailableError)) throw err
      ctx.err(`${err.message}: run setup-rubeus again once Rubeus answers (it creates only what is still missing)\n`)
      return 1
    }
    return failed === 0 ? 0 : 1
  }
}

export const retryParked: Command = {
  summary: 'queue again the records Rubeus refused (push delivery), once the cause is fixed',
  usage: 'gupy-rubeus-bridge retry-parked [--feed <feed>]\n\n' +
    'In push delivery a record Rubeus refuses is parked with Rubeus\'s reason (status, the console), and\n' +
    'that contact\'s later records wait behind it. Fix the cause first (a missing event type:\n' +
    '`setup-rubeus`; a wrong legal basis or channel: `check-rubeus`), then run this: the parked records\n' +
    '(of one feed, or all) are pushed again within seconds by the running service, in order.\n' +
    '  --feed <feed>   only this feed\'s parked records (contatos, or an event feed of the mapping)',
  async run (ctx) {
    const { values } = options(ctx.args, { feed: { type: 'string' } })
    const { config, out } = ctx
    const feeds = [CONTACTS_FEED, ...loadMapping(config.MAPPING_FILE).feeds.map((f) => f.name)]
    if (values.feed !== undefined && !feeds.includes(values.feed)) {
      throw new UsageError(`no feed named "${values.feed}" (feeds: ${feeds.join(', ')})`)
    }
    const queued = await withDatabase(config, (db) => createPush(db).retryParked(values.feed))
    const which = values.feed === undefined ? '' : ` of ${values.feed}`
    out(queued === 0 ? `no parked record${which}: nothing to do\n` : `${queued} parked record(s)${which} queued again\n`)
    if (queued > 0 && config.RUBEUS_DELIVERY !== 'push') out('RUBEUS_DELIVERY is pull: they are pushed once the service runs with RUBEUS_DELIVERY=push\n')
    else if (queued > 0) out('the running service pushes them within seconds; a record refused again is parked again (status shows why)\n')
    return 0
  }
}
