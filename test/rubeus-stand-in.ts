/**
 * A stand-in for Rubeus's CRM API over a real socket, built from the documented examples
 * (test/fixtures/rubeus/api-examples.documented.json): contacts, events, event types and legal
 * bases, answered as Rubeus documents them. Every call is recorded with its time and body. It can be
 * told to misbehave: answer 5xx, 429, `success: false` or other refusals, HTML, a 20 MB answer; hang
 * or trickle; drop the connection before or after applying a call; be down for a while.
 *
 * Where Rubeus documents nothing it takes the pessimistic reading, so that tests catch what a
 * real tenant might do: a second `Contato/cadastro` with a known `codigo` and no `id` creates another
 * contact, and a second `Evento/cadastroTipoEvento` with a known `codigo` creates another type.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { fixture } from './helper.js'

export const RUBEUS_TOKEN = 'rubeus-channel-token-5f0c2a9e7b1d'
export const RUBEUS_ORIGEM = '7'

type Json = Record<string, unknown>

/** The documented examples, by method: `{request, response}`. */
export const DOCUMENTED: Record<string, { request: Json, response: Json }> = JSON.parse(fixture('rubeus/api-examples.documented.json'))

/** One call as the stand-in received it. */
export interface RubeusCall {
  /** performance.now() when its body had arrived. */
  at: number
  /** `Contato/cadastro`, … */
  method: string
  http: string
  /** The JSON body (`{}` when there was none or it was not JSON). */
  body: Json
  query: Record<string, string>
  headers: IncomingMessage['headers']
}

/**
 * How one call misbehaves: another answer (`status`, optional `body` text, `headers`); `html` (an HTML
 * page with that status); `huge` (20 MB of valid JSON); `hang` (never answered); `trickle` (the
 * right answer, after applying the call, one byte every 100 ms); `drop` the
 * connection `before` doing anything or `after` applying the call (a lost answer).
 */
export type Fault =
  | { status: number, body?: string, headers?: Record<string, string> }
  | { html: number }
  | { huge: true }
  | { hang: true }
  | { trickle: true }
  | { drop: 'before' | 'after' }

interface Rule { method: string | undefined, fault: Fault, left: number, skip: number }

export interface EventType { id: string, titulo: string, codigo: string | null, origem: string, origemNome: string, formaCriacaoOportunidade?: unknown, fluxo?: unknown }

export interface StandInOptions {
  /** The event types the tenant already has; the documented one (`CADASTRO`) by default. */
  eventTypes?: EventType[]
  /**
   * How a look-up (`Contato/dadosPessoa`) of an unknown code is answered, as Rubeus does not document
   * it: `success: false` (the default), or `success: true` with empty `dados`.
   */
  unknownContact?: 'refused' | 'empty'
  /** Every answer waits this long (a real CRM's latency). */
  latencyMs?: number
  /**
   * How long an idle connection stays open: 10 ms by default, so that a test leaves none behind;
   * a benchmark keeps them as a web server does (Node's default is 5 s), or every call opens one.
   */
  keepAliveMs?: number
}

/** The stand-in, stopped by the test's end. */
export async function rubeusStandIn (t: TestContext, opts: StandInOptions = {}) {
  const standIn = await startRubeusStandIn(opts)
  t.after(() => standIn.close())
  return standIn
}

/** The stand-in on a free port of 127.0.0.1 (a benchmark runs it too); `close()` stops it. */
export async function startRubeusStandIn (opts: StandInOptions = {}) {
  const calls: RubeusCall[] = []
  const rules: Rule[] = []
  const eventTypes: EventType[] = opts.eventTypes ?? (DOCUMENTED['Evento/listarTipoEvento']!.response.dados as EventType[]).map((e) => ({ ...e }))
  const bases = DOCUMENTED['Lgpd/listarBasesLegais']!.response.dados as Array<{ id: string, base: string }>
  const contacts = new Map<number, Json>()
  const events = new Map<string, Json & { id: string }>()
  let nextId = 100
  let failing: number | undefined

  /** What Rubeus does for a method, on a body already authenticated: the answer's status and JSON. */
  function apply (method: string, body: Json): [number, Json] {
    const refuse = (words: string): [number, Json] => [200, { success: false, erro: [{ erro: words }] }]
    if (method === 'Contato/cadastro') {
      if (body.emailPrincipal === undefined && body.telefonePrincipal === undefined) return refuse('E-mail principal ou telefone principal é obrigatório')
      const id = body.id === undefined ? nextId++ : Number(body.id)
      contacts.set(id, { ...contacts.get(id), ...body, id })
      return [200, { success: true, dados: id }]
    }
    if (method === 'Contato/dadosPessoa') {
      const found = [...contacts.values()].find((c) => (body.id !== undefined && String(c.id) === String(body.id)) ||
        (body.id === undefined && body.codigo !== undefined && c.codigo === body.codigo))
      if (found === undefined) return [200, opts.unknownContact === 'empty' ? { success: true, dados: [] } : { success: false, mensagem: 'Contato não encontrado' }]
      const documented = DOCUMENTED['Contato/dadosPessoa']!.response.dados as Json
      return [200, { success: true, dados: { ...documented, id: String(found.id), codigo: found.codigo ?? null, nome: found.nome ?? null } }]
    }
    if (method === 'Evento/cadastro') {
      const pessoa = body.pessoa as Json | undefined
      const person = [...contacts.values()].find((c) => String(c.id) === String(pessoa?.id) || (pessoa?.id === undefined && c.codigo === pessoa?.codigo))
      if (person === undefined) return refuse('Pessoa não encontrada')
      const type = eventTypes.find((e) => e.codigo === body.codTipo || e.id === String(body.tipo))
      if (type === undefined) return refuse('Tipo de evento não encontrado')
      const codigo = typeof body.codigo === 'string' ? body.codigo : `sem-codigo-${nextId}`
      const event = { ...events.get(codigo), ...body, id: events.get(codigo)?.id ?? String(nextId++) }
      events.set(codigo, event)
      return [200, {
        success: true,
        dados: { id: event.id, descricao: body.descricao ?? null, momento: body.momento ?? '2025-01-01 00:00:00', pessoa: String(person.id), tipo: type.id, tipoNome: type.titulo, imagem: null, origem: RUBEUS_ORIGEM, origemNome: 'Gupy' }
      }]
    }
    if (method === 'Evento/listarTipoEvento') return [200, { success: true, dados: eventTypes }]
    if (method === 'Evento/cadastroTipoEvento') {
      if (typeof body.titulo !== 'string' || body.titulo === '') return refuse('O campo titulo é obrigatório')
      const id = nextId++
      eventTypes.push({ id: String(id), titulo: body.titulo, codigo: typeof body.codigo === 'string' ? body.codigo : null, origem: RUBEUS_ORIGEM, origemNome: 'Gupy', formaCriacaoOportunidade: body.formaCriacaoOportunidade, fluxo: body.fluxo })
      return [200, { success: true, id }]
    }
    if (method === 'Lgpd/listarBasesLegais') return [200, { success: true, dados: bases }]
    return [404, {}]
  }

  async function misbehave (fault: Fault, res: ServerResponse, run: () => [number, Json]): Promise<void> {
    if ('hang' in fault) return // answered by nobody; the stand-in's close ends it
    if ('drop' in fault) {
      if (fault.drop === 'after') run()
      res.socket?.destroy()
      return
    }
    if ('trickle' in fault) {
      const [status, answer] = run()
      res.writeHead(status, { 'content-type': 'application/json' })
      for (const byte of JSON.stringify(answer)) {
        if (res.destroyed) return
        res.write(byte)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      res.end()
      return
    }
    if ('html' in fault) {
      res.writeHead(fault.html, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!DOCTYPE html><html><head><title>Erro</title></head><body><h1>Serviço indisponível</h1><p>${'x'.repeat(2000)}</p></body></html>`)
      return
    }
    if ('huge' in fault) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"success":true,"dados":"')
      const chunk = 'x'.repeat(65_536)
      for (let sent = 0; sent < 20_000_000 && !res.destroyed; sent += chunk.length) {
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const go = () => { res.off('drain', go).off('close', go); resolve() }
            res.on('drain', go).on('close', go)
          })
        }
      }
      if (!res.destroyed) res.end('"}')
      return
    }
    res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(fault.body ?? JSON.stringify({ success: false }))
  }

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let text = ''
    for await (const chunk of req) text += chunk
    if (opts.latencyMs !== undefined) await new Promise((resolve) => setTimeout(resolve, opts.latencyMs))
    const url = new URL(req.url ?? '/', 'http://stand-in')
    const method = url.pathname.replace(/^\/api\//, '')
    let body: Json = {}
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Json
    } catch {} // no body, or not JSON: Rubeus would not find its fields
    const query = Object.fromEntries(url.searchParams)
    calls.push({ at: performance.now(), method, http: req.method ?? '', body, query, headers: req.headers })
    const send = (status: number, value: Json) => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value)) }
    if (!url.pathname.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<!DOCTYPE html><html><body>Not Found</body></html>')
      return
    }
    let rule: Rule | undefined
    for (const r of rules) {
      if (r.left <= 0 || (r.method !== undefined && r.method !== method)) continue
      if (r.skip > 0) {
        r.skip--
        continue
      }
      rule = r
      r.left--
      break
    }
    if (failing !== undefined && rule === undefined) return send(failing, { success: false, message: 'Serviço temporariamente indisponível' })
    const origem = String(body.origem ?? query.origem ?? '')
    const token = String(body.token ?? query.token ?? '')
    const expectedHttp = method.startsWith('Lgpd/') ? 'GET' : 'POST'
    const run = (): [number, Json] => {
      if (req.method !== expectedHttp) return [405, { success: false, message: `Use ${expectedHttp}` }]
      if (origem !== RUBEUS_ORIGEM || token !== RUBEUS_TOKEN) return [200, { success: false, erro: [{ erro: 'Origem ou token inválidos' }] }]
      return apply(method, body)
    }
    if (rule !== undefined) return misbehave(rule.fault, res, run)
    const [status, answer] = run()
    if (status === 404) {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<!DOCTYPE html><html><body>Método não encontrado</body></html>')
      return
    }
    send(status, answer)
  })
  server.keepAliveTimeout = opts.keepAliveMs ?? 10
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    contacts,
    events,
    eventTypes,
    bases,
    /** The calls made to one method. */
    callsTo: (method: string) => calls.filter((c) => c.method === method),
    /** The next `times` calls (to `method`, or any) misbehave so, once `after` such calls have been answered normally. */
    fail (fault: Fault, { method, times = 1, after = 0 }: { method?: string, times?: number, after?: number } = {}) {
      rules.push({ method, fault, left: times, skip: after })
    },
    /** Forgets the faults not used yet. */
    clearFaults () { rules.length = 0 },
    /** Every call answers `status` (503 by default) until `recover()`. */
    failAll (status = 503) { failing = status },
    recover () { failing = undefined },
    /** Nobody listens for `ms` (connections are refused), then it listens on the same port again. */
    close () {
      server.closeAllConnections()
      server.close()
    },
    async down (ms: number): Promise<void> {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise((resolve) => setTimeout(resolve, ms))
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    }
  }
}

export type RubeusStandIn = Awaited<ReturnType<typeof rubeusStandIn>>
