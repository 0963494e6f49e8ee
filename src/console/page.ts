/** The console page, in Brazilian Portuguese: the status report as server-rendered HTML, every value escaped. */
import { parkedByFeed, type PushFacts } from '../ops/report-facts.js'
import type { DamagedReport, StatusReport } from '../ops/status-report.js'
import { explain, type Words } from '../ops/wording.js'
import { CONTACTS_FEED } from '../vocabulary/rubeus-feeds.js'
import { hourlyChart } from './chart.js'
import { html, type Html } from './html.js'

const number = new Intl.NumberFormat('pt-BR')

/** A number the browser test reads back against the JSON (`data-k` is its path there). */
const n = (value: number, key: string) => html`<span data-k="${key}">${number.format(value)}</span>`
const cmd = (text: string) => html`<code class="cmd">${text}</code>`

export function ago (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 90) return `há ${s} s`
  if (s < 5400) return `há ${Math.round(s / 60)} min`
  if (s < 129_600) return `há ${Math.round(s / 3600)} h`
  return `há ${Math.round(s / 86400)} dias`
}

function bytes (b: number): string {
  if (b < 1024 * 1024) return `${number.format(Math.round(b / 1024))} KiB`
  if (b < 1024 ** 3) return `${number.format(Math.round(b / 1024 / 1024))} MiB`
  return `${(b / 1024 ** 3).toLocaleString('pt-BR', { maximumFractionDigits: 1 })} GiB`
}

const HEADLINE = { ok: 'Tudo fluindo', warning: 'Fluindo, com avisos', problem: 'Há problemas' }
const SEVERITY = { problem: 'problema', warning: 'aviso', info: 'nota' }
const OUTCOME: Record<string, string> = { served: 'entregue', aborted: 'interrompido (será servido de novo)', cut: 'em envio' }

/** A finding's words (shared with the alerts) as HTML: commands and paths as copyable code. */
const show = (words: Words) => words.map((w) => typeof w === 'string' ? w : cmd(w.code))

export interface PageOptions {
  timeZone: string
  /** Path of the console's own assets. */
  base: string
}

export function consolePage (report: StatusReport, opts: PageOptions): string {
  if (report.damaged !== null) return damagedPage(report, opts)
  const now = Date.parse(report.generatedAt)
  const time = new Intl.DateTimeFormat('pt-BR', { timeZone: opts.timeZone, dateStyle: 'short', timeStyle: 'medium' })
  const hourOf = new Intl.DateTimeFormat('pt-BR', { timeZone: opts.timeZone, hour: '2-digit', minute: '2-digit' })
  const when = (at: string | null | undefined) => at === null || at === undefined
    ? html`<span class="muted">nunca</span>`
    : html`<time datetime="${at}">${ago(now - Date.parse(at))}</time> <span class="muted">(${time.format(Date.parse(at))})</span>`
  const figure = (value: Html, label: string) => html`<div class="figure"><span class="n">${value}</span><span class="l">${label}</span></div>`
  const { verdict, deliveries, gupy, service, retention } = report

  const reasons = verdict.reasons.map((r) => {
    const { text, next } = explain(r, report.feeds)
    return html`<li data-code="${r.code}"><span class="tag ${r.severity}">${SEVERITY[r.severity]}</span> ${show(text)}<span class="next">${show(next)}</span></li>`
  })
  const outcomes = service === null
    ? ''
    : html`<h3>Respostas desde o início do serviço (${ago(service.uptimeSeconds * 1000).replace('há ', '')})</h3>
<div class="grid">${figure(n(service.outcomesSinceStart.accepted, 'service.outcomesSinceStart.accepted'), 'aceitas')}${figure(n(service.outcomesSinceStart.duplicate, 'service.outcomesSinceStart.duplicate'), 'duplicadas')}${figure(n(service.outcomesSinceStart.ignored, 'service.outcomesSinceStart.ignored'), 'ignoradas (outros eventos)')}${figure(n(service.outcomesSinceStart.rejected, 'service.outcomesSinceStart.rejected'), 'recusadas (400, 401, 403, 413)')}${figure(n(service.outcomesSinceStart.unavailable, 'service.outcomesSinceStart.unavailable'), 'não guardadas (503)')}</div>
<p class="muted">Recusadas não são guardadas; estes números vêm da memória do serviço e recomeçam a cada início.</p>`
  const notConfigured = html`<span class="muted">não configurado</span>`
  const subscriptions = gupy.subscriptions === null
    ? notConfigured
    : gupy.subscriptions.map((s) => html`${s.event}: ${s.ok ? 'ativa' : `problema: ${s.problem ?? '?'}`}; `)

  const push = report.rubeus.push
  const feeds = report.feeds.map((f, i) => {
    const k = (field: string) => `feeds.${i}.${field}`
    const waiting = f.feed === CONTACTS_FEED
      ? figure(n(f.held, k('held')), 'retidos (faltam dados)')
      : figure(n(f.waitingForContact, k('waitingForContact')), 'esperando o contato')
    const batches = f.batches.length === 0
      ? html`<p class="muted">Nenhum lote ainda.</p>`
      : html`<table><thead><tr><th>lote</th><th class="num">registros</th><th>resultado</th><th>quando</th><th>servir de novo a partir deste lote</th></tr></thead><tbody>${f.batches.map((b) =>
        html`<tr><td>${b.id}</td><td class="num">${number.format(b.records)}</td><td>${OUTCOME[b.outcome] ?? b.outcome}</td><td>${when(b.at)}</td><td>${cmd(b.rewind)}</td></tr>`)}</tbody></table>`
    return html`<div class="feed" data-feed="${f.feed}"><h3>${f.feed} <span class="muted">${f.path}</span></h3>
<div class="grid">${figure(n(f.served, k('served')), 'entregues à Rubeus')}${figure(n(f.released, k('released')), 'prontos, esperando a busca')}${figure(n(f.settling, k('settling')), 'na janela de espera')}${waiting}</div>
<p>Última busca da Rubeus: ${when(f.lastPoll?.at)}${f.lastPoll?.caller == null ? '' : html`, de <code>${f.lastPoll.caller}</code>`}</p>
${batches}</div>`
  })

  const feedsSection = html`<section id="feeds"><h2>Ponte → Rubeus: feeds</h2>
<p class="muted">Um lote servido de novo (rewind) repete os eventos na linha do tempo da Rubeus; contatos são só atualizados.</p>
${feeds}</section>
`

  const failures = report.failures.length === 0
    ? html`<p class="muted">Nenhuma.</p>`
    : html`<table><thead><tr><th>motivo</th><th class="num">entregas</th></tr></thead><tbody>${report.failures.map((f, i) =>
      html`<tr><td>${f.reason}</td><td class="num">${n(f.count, `failures.${i}.count`)}</td></tr>`)}</tbody></table>
<p>Depois de corrigir a causa (ou o arquivo de mapeamento): ${cmd('gupy-rubeus-bridge reprocess')}</p>`
  const held = report.held.length === 0
    ? ''
    : html`<h3>Contatos retidos</h3><table><thead><tr><th>motivo</th><th class="num">contatos</th></tr></thead><tbody>${report.held.map((h, i) =>
      html`<tr><td>${h.reason}</td><td class="num">${n(h.count, `held.${i}.count`)}</td></tr>`)}</tbody></table>`
  const run = (r: NonNullable<typeof retention.lastRun>) =>
    `${number.format(r.payloads)} corpos brutos, ${number.format(r.records)} registros servidos, ${number.format(r.batches)} entradas do log de lotes, ${number.format(r.contacts)} contatos`
  const removals = retention.lastRemovals.length === 0
    ? html`<p class="muted">Nada removido nos últimos dias.</p>`
    : html`<table><thead><tr><th>quando</th><th>removido</th></tr></thead><tbody>${retention.lastRemovals.map((r) => html`<tr><td>${when(r.at)}</td><td>${run(r)}</td></tr>`)}</tbody></table>`

  return shell(verdict.status, opts, html`<section class="verdict ${verdict.status}" id="verdict" data-status="${verdict.status}"><h2>${HEADLINE[verdict.status]}</h2>
${reasons.length === 0 ? html`<p>Entregas chegando, mapeadas e ${push === null ? 'buscadas pela' : 'enviadas à'} Rubeus.</p>` : html`<ul class="reasons">${reasons}</ul>`}
<p class="muted">Situação em ${time.format(now)}.</p></section>
<section id="gupy"><h2>Gupy → ponte</h2>
<p>Última entrega: ${when(report.lastReceivedAt)}</p>
<h3>Entregas guardadas por hora, últimas ${report.deliveriesPerHour.length} horas</h3>
${hourlyChart(report.deliveriesPerHour, { label: (at) => hourOf.format(at), title: (at, count) => `${time.format(at)}: ${number.format(count)} entregas` })}
<h3>Todas as entregas guardadas</h3>
<div class="grid">${figure(n(deliveries.mapped, 'deliveries.mapped'), 'mapeadas')}${figure(n(deliveries.received, 'deliveries.received'), 'aguardando mapeamento')}${figure(n(deliveries.failed, 'deliveries.failed'), 'com falha no mapeamento')}${figure(n(deliveries.ignored, 'deliveries.ignored'), 'ignoradas (outros eventos)')}</div>
${outcomes}
<h3>Assinaturas e reconciliação</h3>
<p>Assinaturas: ${subscriptions}<br>Última verificação automática: ${gupy.lastWatchdogCheck === null ? notConfigured : html`${when(gupy.lastWatchdogCheck.at)} ${gupy.lastWatchdogCheck.ok ? 'ok' : gupy.lastWatchdogCheck.problems.join('; ')}`}<br>
Última reconciliação: ${gupy.lastReconciliation === null ? notConfigured : html`${when(gupy.lastReconciliation.at)} ${gupy.lastReconciliation.summary}`}</p>
</section>
${push === null ? feedsSection : pushSection(push, { when, figure })}<section id="failures"><h2>Falhas de mapeamento</h2>${failures}${held}</section>
<section id="retention"><h2>Retenção (LGPD)</h2>
<p>Dados com mais de ${n(retention.days, 'retention.days')} dias são removidos a cada hora; os ids das entregas ficam.</p>
<p>Última execução: ${retention.lastRun === null ? html`<span class="muted">nunca</span>` : html`${when(retention.lastRun.at)}: ${run(retention.lastRun)}`}</p>
${removals}</section>
`, html`versão ${report.version} · ${service === null ? '' : html`no ar ${ago(service.uptimeSeconds * 1000).replace('há ', '')} · `}banco de dados ${bytes(report.databaseBytes)} · <a href="${opts.base}/status.json">status.json</a>`)
}

/**
 * Push delivery (RUBEUS_DELIVERY=push), in place of the feeds' polls and batches: what waits, what is
 * tried again and why, what Rubeus refused and why, and the command for each.
 */
function pushSection (push: PushFacts, { when, figure }: { when: (at: string | null) => Html, figure: (value: Html, label: string) => Html }): Html {
  const k = (field: string) => `rubeus.push.${field}`
  const parked = parkedByFeed(push)
  const retrying = push.retrying === 0
    ? ''
    : html`<p>Tentados de novo: a última falha foi <code>${push.lastRetryReason ?? '?'}</code>. Nada se perde: cada envio é tentado de novo (de 1 s a 60 s entre tentativas) até a Rubeus aceitar. A Rubeus responde? ${cmd('gupy-rubeus-bridge check-rubeus')}</p>`
  const refused = parked.length === 0
    ? html`<p class="muted">Nenhum registro recusado.</p>`
    : html`<table><thead><tr><th>feed</th><th>motivo da Rubeus</th><th class="num">registros</th><th>desde</th></tr></thead><tbody>${parked.map((f) => [
      f.reasons.map((r) => html`<tr data-feed="${f.feed}"><td>${f.feed}</td><td>${r.reason}</td><td class="num">${number.format(r.count)}</td><td>${when(r.since)}</td></tr>`),
      f.unlisted === 0 ? '' : html`<tr data-feed="${f.feed}"><td>${f.feed}</td><td class="muted">outros (mais recentes)</td><td class="num">${number.format(f.unlisted)}</td><td></td></tr>`
    ])}</tbody></table>
<p>Depois de corrigir a causa (${cmd('gupy-rubeus-bridge check-rubeus')} confere endereço, origem, token, tipos de evento e base legal; ${cmd('gupy-rubeus-bridge setup-rubeus')} cria os tipos de evento que faltam), envie de novo:</p>
<ul>${parked.map((f) => html`<li>${f.feed}: ${cmd(f.retry)}</li>`)}</ul>`
  return html`<section id="push"><h2>Envio à API do Rubeus</h2>
<p class="muted">Cada registro vai à Rubeus assim que é mapeado, um contato antes dos seus eventos. Um registro recusado fica parado com o motivo da Rubeus, e os registros seguintes do mesmo contato esperam por ele; os outros contatos seguem.</p>
<div class="grid">${figure(n(push.pending, k('pending')), 'pendentes')}${figure(n(push.retrying, k('retrying')), 'sendo tentados de novo')}${figure(n(push.parked, k('parked')), 'parados (recusados)')}${figure(n(push.waitingBehindParked, k('waitingBehindParked')), 'esperando um registro parado')}</div>
<p>Último envio aceito: ${when(push.lastSuccessAt)}<br>Pendente mais antigo: ${push.oldestPendingAt === null ? html`<span class="muted">nenhum</span>` : when(push.oldestPendingAt)}</p>
${retrying}
<h3>Recusados pela Rubeus</h3>
${refused}
<h3>Por feed</h3>
<table><thead><tr><th>feed</th><th class="num">pendentes</th><th class="num">parados</th></tr></thead><tbody>${push.feeds.map((f, i) =>
  html`<tr data-feed="${f.feed}"><td>${f.feed}</td><td class="num">${n(f.pending, k(`feeds.${i}.pending`))}</td><td class="num">${n(f.parked, k(`feeds.${i}.parked`))}</td></tr>`)}</tbody></table>
</section>
`
}

/** A damaged database file: the verdict alone, since nothing else is read from the file. */
function damagedPage (report: DamagedReport, opts: PageOptions): string {
  const time = new Intl.DateTimeFormat('pt-BR', { timeZone: opts.timeZone, dateStyle: 'short', timeStyle: 'medium' })
  const reasons = report.verdict.reasons.map((r) => {
    const { text, next } = explain(r, [])
    return html`<li data-code="${r.code}"><span class="tag ${r.severity}">${SEVERITY[r.severity]}</span> ${show(text)}<span class="next">${show(next)}</span></li>`
  })
  return shell('problem', opts, html`<section class="verdict problem" id="verdict" data-status="problem"><h2>${HEADLINE.problem}</h2>
<ul class="reasons">${reasons}</ul>
<p class="muted">Situação em ${time.format(Date.parse(report.generatedAt))}. Os demais números vêm do banco de dados e não são mostrados enquanto ele estiver danificado.</p></section>
`, html`versão ${report.version} · <a href="${opts.base}/status.json">status.json</a>`)
}

/** The page around its sections: the head with the service's own assets, the header, and the footer. */
function shell (status: keyof typeof HEADLINE, opts: PageOptions, main: Html, footer: Html): string {
  return '<!doctype html>\n' + html`<html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ponte Gupy → Rubeus: ${HEADLINE[status]}</title>
<link rel="icon" href="${opts.base}/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${opts.base}/console.css">
<script src="${opts.base}/console.js" defer></script>
</head><body>
<header><h1>Ponte Gupy → Rubeus</h1><span class="muted" id="refresh">Recarregue a página para atualizar.</span></header>
<main>
${main}</main>
<footer class="muted">${footer}</footer>
</body></html>`.text
}
