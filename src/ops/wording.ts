/** Each finding of the verdict in Brazilian Portuguese, with its next step: the console shows them and the alerts say them. */
import { PUSH_BACKLOG_MINUTES, type Reason } from './verdict.js'

/** Words to show: plain text, with commands and paths marked so that each reader sets them as code. */
export type Words = ReadonlyArray<string | { code: string }>

export interface Wording {
  text: Words
  /** Empty when there is nothing to do. */
  next: Words
}

/** What the wording needs to know about a feed: where Rubeus reads it. */
export interface FeedPath { feed: string, path: string }

const number = new Intl.NumberFormat('pt-BR')
const FULL_WIDTH: Record<string, string> = { '&': '＆', '<': '＜', '>': '＞' }
const code = (text: string) => ({ code: text })
const say = (text: Words | string, next: Words | string = []): Wording =>
  ({ text: typeof text === 'string' ? [text] : text, next: typeof next === 'string' ? [next] : next })

/** The words as plain text, commands in backticks (Slack, Google Chat and Teams show them as code). */
export function plain (words: Words): string {
  return words.map((w) => typeof w === 'string' ? w : `\`${w.code}\``).join('')
}

export function explain (r: Reason, feeds: readonly FeedPath[]): Wording {
  const path = feeds.find((f) => f.feed === r.feed)?.path ?? ''
  const count = number.format(r.count ?? 0)
  // Rubeus's words, ended by the sentence around them; &, < and > as look-alikes, which no chat reads as markup.
  const detail = r.detail?.replace(/[.\s]+$/, '').replace(/[&<>]/g, (c) => FULL_WIDTH[c]!)
  switch (r.code) {
    case 'no-deliveries': return say('Nenhuma entrega da Gupy recebida ainda.', ['Cadastre as assinaturas com ', code('gupy-rubeus-bridge register-webhooks'), ' e confira com ', code('gupy-rubeus-bridge check-webhooks'), '.'])
    case 'deliveries-quiet': return say('Nenhuma entrega da Gupy há mais de um dia.', ['Confira as assinaturas com ', code('gupy-rubeus-bridge check-webhooks'), ': a Gupy desativa uma assinatura depois de falhas seguidas.'])
    case 'mapping-stalled': return say(`Entregas guardadas que não estão sendo mapeadas: ${count}.`, 'Veja os registros (logs) do serviço e reinicie-o; nada se perde.')
    case 'mapping-failures': return say(`Entregas que não puderam ser mapeadas: ${count}.`, ['Corrija a causa (motivos no console, em Falhas de mapeamento) e rode ', code('gupy-rubeus-bridge reprocess'), '.'])
    case 'contacts-held': return say(`Contatos retidos por falta de dados: ${count}.`, 'Saem sozinhos quando uma entrega da Gupy completar os dados: corrija o cadastro do candidato na Gupy.')
    case 'feed-not-polled': return say(`${r.feed}: a Rubeus não busca este feed há mais de uma hora, e há registros esperando (${count}).`, ['Na Rubeus, confira a integração desta URL (', code(path), ') e seu token.'])
    case 'feed-never-polled': return say(`${r.feed}: a Rubeus ainda não buscou este feed.`, ['Cadastre a URL ', code(path), ' na Rubeus (Integrações → Serviços).'])
    case 'waiting-for-contact': return say(`${r.feed}: eventos esperando que seu contato saia no feed de contatos: ${count}.`, ['A Rubeus precisa buscar ', code('/rubeus/contatos'), ' antes (ou com mais frequência).'])
    case 'batch-aborted': return say(`${r.feed}: o último lote não chegou inteiro à Rubeus; ele será servido de novo.`, 'Nada a fazer se a próxima busca der certo.')
    case 'watchdog-not-configured': return say('As assinaturas da Gupy não são verificadas automaticamente (não configurado).', ['Rode ', code('gupy-rubeus-bridge check-webhooks'), ' de tempos em tempos (num cron, por exemplo).'])
    case 'subscriptions-broken': return say('A última verificação encontrou problema nas assinaturas da Gupy.', ['Rode ', code('gupy-rubeus-bridge register-webhooks'), '.'])
    case 'reconciliation-failed': return say('A última reconciliação com a API da Gupy falhou.', 'Veja os logs; ela é tentada de novo no próximo intervalo.')
    case 'database-damaged': return say('O arquivo do banco de dados está danificado: o serviço não lê nem grava mais nele (webhooks e feeds respondem 503; a Gupy tenta de novo por cerca de 2 h).', ['Pare o serviço e restaure o último backup com ', code('gupy-rubeus-bridge restore <arquivo de backup>'), '; veja "Disaster recovery" no README.'])
    case 'deliveries-rejected': return say(`Entregas recusadas desde o início do serviço (400, 401, 403 ou 413): ${count}.`, 'Se vierem da Gupy, confira GUPY_WEBHOOK_SECRETS e GUPY_ALLOWED_IPS; tentativas de estranhos também contam.')
    case 'push-parked': return say(`${r.feed}: registros recusados pela Rubeus, parados: ${count}${detail === undefined ? '' : ` (motivo: ${detail})`}. Os registros seguintes do mesmo contato esperam por eles; os outros contatos seguem.`,
      ['Corrija a causa (', code('gupy-rubeus-bridge check-rubeus'), ' confere o endereço, a origem, o token, os tipos de evento e a base legal; um tipo de evento faltando se cria com ', code('gupy-rubeus-bridge setup-rubeus'), ') e rode ', code(`gupy-rubeus-bridge retry-parked --feed ${r.feed ?? ''}`), '.'])
    case 'push-queue-left': return say(`Registros que ficaram na fila de envio à API da Rubeus quando a entrega voltou ao modo pull: ${count}. Os feeds não os servem.`,
      ['Volte a RUBEUS_DELIVERY=push até a fila esvaziar (', code('gupy-rubeus-bridge status'), '), ou sirva-os pelos feeds com ', code('gupy-rubeus-bridge rewind --feed <feed> --since <data>'), '.'])
    case 'push-backlog': return say(`Registros esperando há mais de ${PUSH_BACKLOG_MINUTES} minutos para ir à Rubeus: ${count}${detail === undefined ? '' : `. Última falha: ${detail}`}.`, detail === undefined
      ? 'Nenhuma falha registrada: veja os logs do serviço (ele está enviando?) e se RUBEUS_API_REQUESTS_PER_MINUTE dá conta do volume.'
      : ['Confira se a Rubeus responde com ', code('gupy-rubeus-bridge check-rubeus'), '; nada se perde: cada envio é tentado de novo até a Rubeus aceitar.'])
    // A finding without Portuguese words yet is still shown, and alerted, in the verdict's English.
    default: return say(r.feed === undefined ? r.message : `${r.feed}: ${r.message}`)
  }
}
