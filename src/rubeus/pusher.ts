/**
 * The pusher (RUBEUS_DELIVERY=push): the outbound core's second driver. Each round it takes what the
 * feeds released (no settle window) and hands it, in the batch's own transaction, to the push queue
 * (src/store/push.ts); then up to CONTACTS_AT_ONCE contacts are pushed side by side, each one's records
 * one at a time: its contact record first, then its events by date.
 *
 * A contact key is never created twice: its first push looks it up by `codigo`, and a creation whose
 * answer was lost is looked up again before it is tried again. An event's `codigo` is made from the
 * delivery and the feed, so pushing it again edits it. A record is done only once Rubeus answered
 * `success: true`; a crash before that pushes it again at the next start, harmlessly. Network
 * errors, time-outs, 408, 429 and 5xx are tried again for as long as it takes; any other answer
 * parks the record with Rubeus's reason, and its contact's later records wait until `retry-parked`.
 */
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import type { Feed } from '../mapping/mapping-file.js'
import type { PushItem } from '../store/push.js'
import { isBusy, isStorageError, sqliteCode } from '../store/sqlite.js'
import { BACKGROUND_RETRY_MS, whenFree } from '../store/contention.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import { RubeusUnavailableError, createRubeusApi, type RubeusApi } from './api.js'
import { contactBody, eventBody } from './push-records.js'

/** Contacts pushed side by side (each one's calls stay one at a time), within the request budget. */
export const CONTACTS_AT_ONCE = 8
const LOOK_UP = 'Contato/dadosPessoa'
/** With nothing new, the queue is looked at this often (a `retry-parked` or `rewind` run beside the service). */
export const IDLE_MS = 1000

export interface PusherOptions {
  baseUrl: string
  origem: string
  token: string
  requestsPerMinute: number
  timeoutMs: number
  /** The event feeds, each with its event type. */
  feeds: readonly Feed[]
  timeZone: string
  batchSize: number
  /** Tests: a faster backoff. */
  backoff?: { baseMs: number, maxMs: number }
}

/** The id in a creation's `dados`: documented as the number itself; an object with an `id` is read too. */
function idOf (data: unknown): string {
  const id = typeof data === 'object' && data !== null && 'id' in data ? data.id : data
  return typeof id === 'string' || typeof id === 'number' ? String(id).trim() : ''
}

/** What a record's push came to: done, or refused with Rubeus's reason. */
type Pushed = { done: true } | { done: false, refused: string }

declare module 'fastify' {
  interface FastifyInstance {
    /** Wakes the pusher now (tests, and whatever just queued work). */
    pusher: { wake: () => void, active: () => number }
  }
}

export default fp<PusherOptions>(async (app, opts) => {
  const { store, metrics, outbound, log } = app
  const aborter = new AbortController()
  const signal = aborter.signal
  const calls = new Counter({
    name: 'bridge_rubeus_push_calls_total',
    help: 'Calls to Rubeus\'s CRM API by method and result (success, refused, not_found: a look-up of an unknown contact, retry: failed and tried again, lost: no answer)',
    labelNames: ['method', 'result'] as const,
    registers: [metrics.registry]
  })
  const api: RubeusApi = createRubeusApi({
    baseUrl: opts.baseUrl,
    origem: opts.origem,
    token: opts.token,
    requestsPerMinute: opts.requestsPerMinute,
    timeoutMs: opts.timeoutMs,
    signal,
    backoffBaseMs: opts.backoff?.baseMs,
    backoffMaxMs: opts.backoff?.maxMs
  })
  const codTipo = new Map(opts.feeds.map((f) => [f.name, f.codTipo]))
  const order = [CONTACTS_FEED, ...opts.feeds.map((f) => f.name)]
  // A batch handed to the queue is logged at debug: the queue, not the batch, is what an operator follows.
  const quiet = { info: (fields: Record<string, unknown>, message: string) => log.debug(fields, message), error: log.error.bind(log) }

  /** One call for a record: counted, its failures kept on the record while it is tried again. */
  async function call (item: PushItem, method: string, fields: Record<string, unknown>, attempts?: number) {
    try {
      const outcome = await api.call(method, fields, {
        attempts,
        onRetry: (waitMs, why) => {
          calls.inc({ method, result: 'retry' })
          log.warn({ feed: item.feed, seq: item.seq, waitSeconds: Math.ceil(waitMs / 1000), reason: why }, 'Rubeus failed a push; trying again')
          try { store.push.failed(item, why, Date.now()) } catch (err) { store.writes.report(err) } // only a count: the retry goes on
        }
      })
      // A look-up's `success: false` is Rubeus saying it has no such contact, not a refusal.
      calls.inc({ method, result: outcome.ok ? 'success' : outcome.successFalse === true && method === LOOK_UP ? 'not_found' : 'refused' })
      return outcome
    } catch (err) {
      if (err instanceof RubeusUnavailableError) calls.inc({ method, result: 'lost' })
      throw err
    }
  }

  /**
   * The contact's Rubeus id by its `codigo`, or undefined when Rubeus has none: it answers that with
   * `success: false` or with empty `dados`. Any other answer (another 4xx, HTML) says nothing about
   * the contact, and creating it then could make a second one: the record is refused instead.
   */
  async function lookUp (item: PushItem): Promise<string | undefined | { refused: string }> {
    const found = await call(item, LOOK_UP, { codigo: item.codigo })
    if (!found.ok) return found.successFalse === true ? undefined : { refused: found.refused }
    const rows: unknown[] = Array.isArray(found.data) ? found.data : [found.data]
    for (const row of rows) {
      if (typeof row !== 'object' || row === null) continue
      const { id, codigo } = row as { id?: unknown, codigo?: unknown }
      if ((typeof id === 'string' || typeof id === 'number') && String(id) !== '' && (codigo === undefined || String(codigo) === item.codigo)) return String(id)
    }
    return undefined
  }

  /**
   * The contact's Rubeus id: known, looked up, or made now from its record as it stands (`created`).
   * A creation is tried once at a time; when its answer is lost it may have been made all the same,
   * so it is looked up again before another try.
   */
  async function contactId (item: PushItem): Promise<{ id: string, created: boolean } | { refused: string }> {
    const known = store.push.rubeusId(item.codigo)
    if (known !== undefined) return { id: known, created: false }
    for (let attempt = 1; ; attempt++) {
      const found = await lookUp(item)
      if (typeof found === 'object') return found
      if (found !== undefined) {
        await whenFree(() => store.push.remember(item.codigo, found, Date.now()))
        return { id: found, created: false }
      }
      if (item.contact === null) return { refused: 'the contact is not in Rubeus, and the bridge holds no record of it to create it' }
      try {
        const made = await call(item, 'Contato/cadastro', contactBody(item.contact), 1)
        if (!made.ok) return { refused: made.refused }
        const id = idOf(made.data)
        if (id !== '') {
          await whenFree(() => store.push.remember(item.codigo, id, Date.now()))
          return { id, created: true }
        }
        // Created, but no id in the answer: the look-up finds it.
      } catch (err) {
        if (!(err instanceof RubeusUnavailableError)) throw err
        log.warn({ feed: item.feed, seq: item.seq, reason: err.message }, 'a contact\'s creation got no answer; it is looked up before another try')
        await whenFree(() => store.push.failed(item, err.message, Date.now()))
        await api.backoff(attempt)
      }
    }
  }

  async function pushRecord (item: PushItem): Promise<Pushed> {
    const contact = await contactId(item)
    if ('refused' in contact) return { done: false, refused: contact.refused }
    if (item.feed === CONTACTS_FEED) {
      // A creation sent the record as it stands; a contact erased meanwhile has nothing to send.
      if (contact.created || item.contact === null) return { done: true }
      const updated = await call(item, 'Contato/cadastro', contactBody(item.contact, contact.id))
      return updated.ok ? { done: true } : { done: false, refused: updated.refused }
    }
    const sent = await call(item, 'Evento/cadastro', eventBody(item.record ?? '{}', {
      feed: item.feed,
      deliveryId: item.event_id,
      eventDate: item.event_date,
      codTipo: codTipo.get(item.feed) ?? item.feed,
      pessoa: contact.id,
      timeZone: opts.timeZone
    }))
    return sent.ok ? { done: true } : { done: false, refused: sent.refused }
  }

  /** Pushes the contact's records one at a time until none is left, one is parked, or the service stops. */
  async function pushContact (codigo: string): Promise<void> {
    for (let item = store.push.next(codigo); item !== undefined && !signal.aborted; item = store.push.next(codigo)) {
      const pushed = await pushRecord(item)
      const now = Date.now()
      if (pushed.done) {
        await whenFree(() => store.push.done(item!, now))
        continue
      }
      await whenFree(() => store.push.park(item!, pushed.refused, now))
      log.warn({ feed: item.feed, seq: item.seq, reason: pushed.refused },
        'Rubeus refused a record: it is parked, with that contact\'s later records (gupy-rubeus-bridge retry-parked once the cause is fixed)')
      return
    }
  }

  const active = new Map<string, Promise<void>>()
  /** Takes what the feeds released into the queue: contacts first, so a new contact's events follow it in the same round. */
  async function handOver (): Promise<void> {
    for (const feed of order) {
      for (;;) {
        const turn = await outbound.take(feed, { caller: 'push', log: quiet, polled: false })
        if (turn === undefined) break
        const batch = turn.batch
        try {
          if (batch === undefined) break
          if (!turn.settle('delivered', () => store.push.enqueue(feed, batch.firstSeq, batch.lastSeq, Date.now()))) return
        } finally {
          turn.end()
        }
        if (batch.count < opts.batchSize) break
      }
    }
  }

  function startContacts (): void {
    for (const codigo of store.push.ready(CONTACTS_AT_ONCE - active.size, active)) {
      active.set(codigo, pushContact(codigo).catch((err: unknown) => {
        if (signal.aborted) return
        store.writes.report(err)
        if (isStorageError(err)) log.warn({ code: sqliteCode(err) }, 'the push queue could not be written; the contact is pushed again shortly')
        else log.error({ err }, 'pushing a contact failed; it is tried again shortly')
        return new Promise<void>((resolve) => setTimeout(resolve, BACKGROUND_RETRY_MS))
      }).finally(() => {
        active.delete(codigo)
        if (!signal.aborted) startContacts()
      }))
    }
  }

  let again = false
  let waking: (() => void) | undefined
  function wake (): void {
    again = true
    waking?.()
  }
  async function run (): Promise<void> {
    while (!signal.aborted) {
      again = false
      if (store.writes.damaged === undefined) {
        try {
          await handOver()
          startContacts()
        } catch (err) {
          store.writes.report(err)
          // A command holding the write lock a moment is no news: the next round (at most IDLE_MS away) takes it.
          if (!signal.aborted && !isBusy(err)) {
            log.warn({ code: sqliteCode(err), err: isStorageError(err) ? undefined : err }, 'the pusher could not take what the feeds released; it tries again shortly')
          }
        }
      }
      if (again) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, IDLE_MS)
        waking = () => { clearTimeout(timer); resolve() }
      })
      waking = undefined
    }
  }

  // One read of the queue per scrape: the first gauge's collect sets all three (a registry collects in registration order).
  const parked = new Gauge({
    name: 'bridge_rubeus_push_parked',
    help: 'Records Rubeus refused, waiting for retry-parked, per feed',
    labelNames: ['feed'] as const,
    registers: []
  })
  const oldest = new Gauge({
    name: 'bridge_rubeus_push_oldest_pending_seconds',
    help: 'Age of the oldest record waiting to be pushed (0 when none waits)',
    registers: []
  })
  new Gauge({ // eslint-disable-line no-new -- registered, read at each scrape
    name: 'bridge_rubeus_push_pending',
    help: 'Records waiting to be pushed to Rubeus (being retried included), per feed',
    labelNames: ['feed'] as const,
    registers: [metrics.registry],
    collect () {
      if (store.writes.damaged !== undefined) return // the last values stay; the file is not read
      const counts = store.push.counts()
      for (const feed of order) {
        this.set({ feed }, counts.feeds[feed]?.pending ?? 0)
        parked.set({ feed }, counts.feeds[feed]?.parked ?? 0)
      }
      oldest.set(counts.oldestPendingAt === undefined ? 0 : Math.max(0, (Date.now() - counts.oldestPendingAt) / 1000))
    }
  })
  metrics.registry.registerMetric(parked)
  metrics.registry.registerMetric(oldest)

  app.decorate('pusher', { wake, active: () => active.size })
  store.ingest.onCommit(() => wake())
  let running: Promise<void> | undefined
  app.addHook('onReady', async () => { running = run() })
  // Before the store closes its database: calls under way stop; their records are pushed again at the next start.
  app.addHook('onClose', async () => {
    aborter.abort()
    waking?.()
    await Promise.allSettled([running, ...active.values()])
  })
}, { name: 'pusher', dependencies: ['store', 'metrics', 'background'] })
