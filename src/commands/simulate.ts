/** `simulate`: posts realistic, clearly fake Gupy deliveries to a running bridge (Gupy has no test environment). */
import { randomInt, randomUUID } from 'node:crypto'
import { request } from 'undici'
import { withCpfCheckDigits } from '../vocabulary/formats.js'
import { UsageError, options, type Command } from './command.js'

const FIRST = ['Ana', 'Bruno', 'Carla', 'Diego', 'Elisa', 'Fábio', 'Gabriela', 'Heitor', 'Íris', 'João', 'Larissa', 'Márcio']
const LAST = ['Silva', 'Souza', 'Oliveira', 'Santos', 'Pereira', 'Lima', 'Carvalho', 'Araújo']
const STEPS = ['Cadastro', 'Triagem', 'Entrevista com RH', 'Teste técnico', 'Contratação']
const CITIES = [['São Paulo', 'São Paulo', 'SP', '01310-100'], ['Belo Horizonte', 'Minas Gerais', 'MG', '30130-010'], ['Recife', 'Pernambuco', 'PE', '50030-230']]

/** Nine random digits and their two CPF check digits: valid, and not anybody's on purpose. */
function fakeCpf (): string {
  return withCpfCheckDigits(Array.from({ length: 9 }, () => randomInt(10)).join(''))
}

function person (n: number) {
  const [city, state, uf, cep] = CITIES[n % CITIES.length]!
  const first = FIRST[n % FIRST.length]!
  const last = LAST[randomInt(LAST.length)]!
  return {
    name: first,
    lastName: `${last} (simulação)`,
    email: `simulacao.${first.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()}.${n}@example.com`,
    identificationDocument: fakeCpf(),
    birthdate: `19${70 + randomInt(30)}-0${1 + randomInt(9)}-1${randomInt(10)}`,
    mobileNumber: `+55119${String(randomInt(1e8)).padStart(8, '0')}`,
    phoneNumber: n % 3 === 0 ? `+55113${String(randomInt(1e7)).padStart(7, '0')}` : null,
    addressStreet: 'Rua de Teste',
    addressNumber: `${1 + randomInt(2000)} - apto ${randomInt(100)}`,
    addressZipCode: cep,
    addressCity: city,
    addressState: state,
    addressStateShortName: n % 4 === 0 ? '' : uf,
    addressCountry: 'Brasil',
    gender: n % 2 === 0 ? 'Female' : 'Male'
  }
}

/** A candidate's journey: applied, then moved through 1–4 steps (some reach Contratação). */
function journey (n: number, start: number) {
  const candidate = person(n)
  const job = { id: 9_000_000 + (n % 3), name: ['Auxiliar de Produção', 'Analista de Dados', 'Vendedor(a) <Loja> & Cia'][n % 3] }
  const applicationId = 500_000_000 + n
  const moves = 1 + randomInt(4)
  return Array.from({ length: moves + 1 }, (_, s) => ({
    companyName: 'Empresa Simulada',
    id: randomUUID(),
    event: s === 0 ? 'application.created' : 'application.moved',
    date: new Date(start + (n * 60 + s * 3600) * 1000).toISOString(),
    data: {
      job,
      application: {
        id: applicationId,
        currentStep: { id: s, name: STEPS[s], type: s === 4 ? 'final' : 'online' },
        ...(s === 0 ? {} : { previousStep: { id: s - 1, name: STEPS[s - 1], type: 'online' } })
      },
      candidate
    }
  }))
}

export const simulate: Command = {
  summary: 'post realistic, clearly fake deliveries (with duplicates, out of order) to a running bridge',
  usage: 'gupy-rubeus-bridge simulate [--url <bridge URL>] [--people <n>]\n\n' +
    '  --url      the bridge (default http://127.0.0.1:PORT)\n' +
    '  --people   how many fake candidates (default 20)\n\n' +
    'Uses the first GUPY_WEBHOOK_SECRETS entry (or the generated one). Every person is fake:\n' +
    'last names marked "(simulação)", e-mails @example.com, random CPFs with valid check digits.\n' +
    'Never run it against a bridge whose feeds a production Rubeus reads.',
  async run ({ config, args, out }) {
    const { values } = options(args, { url: { type: 'string' }, people: { type: 'string', default: '20' } })
    const people = Number(values.people)
    if (!Number.isInteger(people) || people < 1 || people > 100_000) throw new UsageError('--people must be a whole number from 1 to 100000')
    const secret = config.GUPY_WEBHOOK_SECRETS[0]
    if (secret === undefined) throw new UsageError('no webhook secret: set GUPY_WEBHOOK_SECRETS, or start the service once to generate one')
    const url = `${(values.url ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '')}/webhooks/gupy`

    const start = Date.now() - 86_400_000
    const deliveries = Array.from({ length: people }, (_, n) => journey(n, start)).flat()
    // Gupy delivers at least once and in any order: repeat some, and shuffle neighbours.
    const stream = [...deliveries, ...deliveries.filter(() => randomInt(10) === 0)]
    for (let i = stream.length - 1; i > 0; i--) {
      const j = Math.max(0, i - randomInt(8));
      [stream[i], stream[j]] = [stream[j]!, stream[i]!]
    }

    const outcomes: Record<string, number> = {}
    let next = 0
    const worker = async () => {
      while (next < stream.length) {
        const body = JSON.stringify(stream[next++])
        const res = await request(url, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body })
        const text = await res.body.text()
        const key = res.statusCode === 200 ? (JSON.parse(text) as { status: string }).status : `HTTP ${res.statusCode}`
        outcomes[key] = (outcomes[key] ?? 0) + 1
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    out(`posted ${stream.length} deliveries for ${people} fake people to ${url}: ` +
      `${Object.entries(outcomes).map(([k, n]) => `${n} ${k}`).join(', ')}\n` +
      (config.RUBEUS_DELIVERY === 'push'
        ? 'with RUBEUS_DELIVERY=push the bridge pushes them to Rubeus now: `gupy-rubeus-bridge status` shows what waits or was refused\n'
        : 'poll the feeds after FEED_SETTLE_SECONDS: /rubeus/contatos first, then /rubeus/eventos/<feed>\n'))
    return Object.keys(outcomes).every((k) => !k.startsWith('HTTP')) ? 0 : 1
  }
}
