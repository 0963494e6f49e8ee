/** `rewind` and `reprocess`: serve records again, and map stored deliveries again. */
import { createMapper } from '../mapping/mapper.js'
import { loadMapping } from '../mapping/mapping-file.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import { createFeeds } from '../store/feeds.js'
import { createRepositories } from '../store/repositories.js'
import { politePause } from '../store/contention.js'
import { UsageError, options, withDatabase, type Command } from './command.js'

export const rewind: Command = {
  summary: 'move a feed\'s cursor back so that a batch (and every later one) is served again',
  usage: 'gupy-rubeus-bridge rewind --feed <name> (--batch <id> | --since <ISO time>)\n\n' +
    '  --feed    contatos, or an event feed (candidatura, mudanca-de-etapa, …)\n' +
    '  --batch   the X-Batch-Id of the first batch to serve again (see `status` and the logs)\n' +
    '  --since   serve again from the first batch served at or after this time (2025-07-01T12:00:00Z)\n\n' +
    'Events served again appear twice in Rubeus\'s timeline; contacts are updated in place.\n' +
    'With RUBEUS_DELIVERY=push the records are queued again for pushing instead: the running service\n' +
    'pushes them within seconds; events are edited in place (by their codigo), contacts updated.',
  async run ({ config, args, out }) {
    const { values } = options(args, { feed: { type: 'string' }, batch: { type: 'string' }, since: { type: 'string' } })
    const feeds = [CONTACTS_FEED, ...loadMapping(config.MAPPING_FILE).feeds.map((f) => f.name)]
    if (values.feed === undefined || !feeds.includes(values.feed)) throw new UsageError(`--feed must be one of: ${feeds.join(', ')}`)
    if ((values.batch === undefined) === (values.since === undefined)) throw new UsageError('give either --batch or --since')
    let to: { batchId: number } | { since: number }
    if (values.batch !== undefined) {
      if (!/^\d+$/.test(values.batch)) throw new UsageError('--batch must be a batch number')
      to = { batchId: Number(values.batch) }
    } else {
      const since = Date.parse(values.since!)
      if (Number.isNaN(since)) throw new UsageError('--since must be a date and time such as 2025-07-01T12:00:00Z')
      to = { since }
    }
    const feed = values.feed
    const result = await withDatabase(config, (db) => createFeeds(db).rewind(feed, to, Date.now()))
    const moved = `${feed}: cursor moved back to before batch ${result.batchId}; ${result.ahead} records`
    if (config.RUBEUS_DELIVERY === 'push') {
      // The pusher hands what lies past the cursor to its queue again: an event's codigo makes it an edit in Rubeus, not a second event.
      out(`${moved} queued again for pushing: the running service pushes them within seconds ` +
        `(${feed === CONTACTS_FEED ? 'contacts are updated in Rubeus with what the bridge holds now' : 'events are edited in place in Rubeus, by their codigo, not added again'})\n`)
    } else {
      out(`${moved} will be served again, from the next poll on\n`)
    }
    return 0
  }
}

/** Deliveries marked for mapping per transaction, and mapped per transaction. */
const REPROCESS_CHUNK = 500
const MAP_STEP = 100

export const reprocess: Command = {
  summary: 'map stored deliveries again: the failed ones, or all (after a MAPPING_FILE change)',
  usage: 'gupy-rubeus-bridge reprocess [--all]\n\n' +
    '  (default)  deliveries whose mapping failed\n' +
    '  --all      also the mapped ones: contacts take the new mapping and are queued again if they\n' +
    '             change; events not yet released are rendered again; released events are not repeated\n\n' +
    'Deliveries whose body was removed by retention cannot be mapped again.',
  async run ({ config, args, out }) {
    const { values } = options(args, { all: { type: 'boolean', default: false } })
    const mapping = loadMapping(config.MAPPING_FILE)
    return await withDatabase(config, async (db) => {
      const repositories = createRepositories(db)
      const mapper = createMapper(repositories, {
        mapping,
        timeZone: config.TIMEZONE,
        extras: { baseLegal: config.RUBEUS_BASE_LEGAL, origem: config.RUBEUS_ORIGEM }
      })
      const { inbox } = repositories
      const which = values.all ? 'all' : 'failed'
      // The deliveries stored when the command began: those arriving meanwhile take the mapping anyway.
      const through = inbox.lastSeq()
      const queued = inbox.requeueable(which)
      out(`${queued} deliveries to map again\n`)
      // A chunk at a time, each marked and mapped in short transactions: the service keeps writing beside.
      const requeueChunk = db.transaction((after: number) => inbox.requeue(which, after, through, REPROCESS_CHUNK))
      const pause = politePause()
      let done = 0
      let reported = 0
      for (let after = 0; ;) {
        const seqs = requeueChunk.immediate(after)
        if (seqs.length === 0) break
        after = Math.max(...seqs)
        for (let n = mapper.step(MAP_STEP); n > 0; n = mapper.step(MAP_STEP)) {
          done += n
          await pause()
        }
        if (queued >= 10_000 && done - reported >= 10_000) {
          reported = done
          out(`  ${done} / ${queued}\n`)
        }
      }
      const failed = repositories.inbox.failures()
      out(`mapped ${done}; failed now: ${failed.length === 0 ? 'none' : failed.map((f) => `${f.count} (${f.reason})`).join(', ')}\n`)
      return 0
    })
  }
}
