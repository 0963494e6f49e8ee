/**
 * `check-rubeus` and `setup-rubeus` as real processes against the stand-in of Rubeus's CRM API:
 * what they say, their exit codes, that the check only reads, that event types are created once
 * (also when a creation's answer is lost), and that the token is never printed.
 */
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, freePort, tempDir } from '../helper.js'
import { RUBEUS_ORIGEM, RUBEUS_TOKEN, rubeusStandIn, type RubeusStandIn } from '../rubeus-stand-in.js'

const FEEDS = ['candidatura', 'mudanca-de-etapa', 'reprovacao', 'desistencia']

function env (t: TestContext, rubeus: { url: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_PATH: join(tempDir(t), 'bridge.sqlite'),
    RUBEUS_API_URL: rubeus.url,
    RUBEUS_API_TOKEN: RUBEUS_TOKEN,
    RUBEUS_ORIGEM,
    ...extra
  }
}

/** Runs the command and checks that the token is nowhere in what it printed. */
async function run (args: string[], e: Record<string, string>) {
  const res = await cli(args, e)
  for (const secret of [RUBEUS_TOKEN, e.RUBEUS_API_TOKEN ?? RUBEUS_TOKEN]) {
    assert.ok(!res.stdout.includes(secret) && !res.stderr.includes(secret), `the token was printed:\n${res.stdout}${res.stderr}`)
  }
  return res
}

const typesWith = (rubeus: RubeusStandIn, codigo: string) => rubeus.eventTypes.filter((e) => e.codigo === codigo).length

describe('check-rubeus', () => {
  test('only reads: the channel, each feed\'s event type present or missing, the legal bases with RUBEUS_BASE_LEGAL marked', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const pull = await run(['check-rubeus'], env(t, rubeus, { RUBEUS_BASE_LEGAL: '4' }))
    assert.equal(pull.code, 0, pull.stdout + pull.stderr)
    const lines = pull.stdout.split('\n')
    assert.equal(lines[0], `Rubeus's CRM API at ${rubeus.url} (origem ${RUBEUS_ORIGEM}, token set; delivery: pull)`)
    assert.ok(lines.includes('channel: ok (Rubeus answered with this origem and token)'))
    for (const feed of FEEDS) assert.ok(lines.includes(`  ${feed}: gupy-${feed} MISSING`), pull.stdout)
    assert.ok(lines.includes('  4 missing: run `gupy-rubeus-bridge setup-rubeus` to create them (needed only with RUBEUS_DELIVERY=push)'))
    assert.ok(lines.includes('     3  Execução de contrato'))
    assert.ok(lines.includes('     4  Consentimento do titular   ← RUBEUS_BASE_LEGAL'))
    assert.ok(lines.includes('RUBEUS_BASE_LEGAL=4: ok (Consentimento do titular)'))
    assert.equal(lines.at(-2), 'ok')

    const push = await run(['check-rubeus'], env(t, rubeus, { RUBEUS_BASE_LEGAL: '4', RUBEUS_DELIVERY: 'push' }))
    assert.equal(push.code, 1, 'missing event types are a problem for push delivery')
    assert.match(push.stdout, /\n {2}4 missing: run `gupy-rubeus-bridge setup-rubeus` to create them\n/)
    assert.match(push.stdout, /\n1 problem\(s\)\n$/)

    assert.deepEqual([...new Set(rubeus.calls.map((c) => c.method))].sort(), ['Evento/listarTipoEvento', 'Lgpd/listarBasesLegais'])
    assert.equal(rubeus.eventTypes.length, 1, 'nothing created')
  })

  test('RUBEUS_BASE_LEGAL that is not one of the tenant\'s bases is a problem; unset, it is a note', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const wrong = await run(['check-rubeus'], env(t, rubeus, { RUBEUS_BASE_LEGAL: '99' }))
    assert.equal(wrong.code, 1)
    assert.match(wrong.stdout, /\nRUBEUS_BASE_LEGAL=99: NOT one of the tenant's legal bases; set it to one of the ids above\n/)
    const unset = await run(['check-rubeus'], env(t, rubeus))
    assert.equal(unset.code, 0)
    assert.match(unset.stdout, /\nRUBEUS_BASE_LEGAL is not set: contacts carry no legal basis/)
  })

  test('a refused channel, an unreachable address and missing variables are said in one line each, with what to check', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const otherToken = 'another-channel-token-000000'
    const refused = await run(['check-rubeus'], env(t, rubeus, { RUBEUS_API_TOKEN: otherToken }))
    assert.equal(refused.code, 1)
    assert.match(refused.stdout, /\nevent types: could not be listed: Rubeus refused Evento\/listarTipoEvento \(success: false\): Origem ou token inválidos\n {2}check RUBEUS_API_URL, RUBEUS_ORIGEM and RUBEUS_API_TOKEN/)
    assert.match(refused.stdout, /\nlegal bases: could not be listed: Rubeus refused Lgpd\/listarBasesLegais \(success: false\): Origem ou token inválidos\n/)
    assert.match(refused.stdout, /\n2 problem\(s\)\n$/)

    const page = await run(['check-rubeus'], env(t, { url: `${rubeus.url}/crm` }))
    assert.equal(page.code, 1)
    assert.match(page.stdout, /Rubeus answered Evento\/listarTipoEvento with an HTML page \(\d+ bytes, text\/html\) \(HTTP 404\), not the JSON expected/)

    const nobody = `http://127.0.0.1:${await freePort()}`
    const down = await run(['check-rubeus'], env(t, { url: nobody }))
    assert.equal(down.code, 1)
    const errLines = down.stderr.trimEnd().split('\n')
    assert.equal(errLines.length, 3, down.stderr)
    assert.match(errLines[0]!, /^Rubeus could not be reached \(ECONNREFUSED\) on Evento\/listarTipoEvento, attempt 1; trying again in 1 s$/)
    assert.equal(errLines[2], 'Rubeus could not be reached (ECONNREFUSED) on Evento/listarTipoEvento, 3 attempt(s): ' +
      'check RUBEUS_API_URL, RUBEUS_ORIGEM and RUBEUS_API_TOKEN (Rubeus: gear icon → Integrações → Canais/API)')

    const unset = await run(['check-rubeus'], { DATABASE_PATH: join(tempDir(t), 'bridge.sqlite'), RUBEUS_ORIGEM })
    assert.equal(unset.code, 2)
    assert.match(unset.stderr, /^check-rubeus: set RUBEUS_API_URL, RUBEUS_API_TOKEN: the CRM's address, and the token and origem of a channel \(Rubeus: gear icon → Integrações → Canais\/API\)\n/)
    const typo = await run(['setup-rubeus', '--feed', 'x'], env(t, rubeus))
    assert.equal(typo.code, 2)
  })
})

describe('setup-rubeus', () => {
  test('creates each missing event type once, as the mapping names it; run again it creates nothing; check-rubeus then passes', async (t) => {
    // The tenant already has the reproved type, under a code in capitals.
    const rubeus = await rubeusStandIn(t, { eventTypes: [{ id: '9', titulo: 'Reprovação', codigo: 'GUPY-REPROVACAO', origem: RUBEUS_ORIGEM, origemNome: 'Gupy' }] })
    const mapping = join(tempDir(t), 'mapping.json')
    writeFileSync(mapping, JSON.stringify({
      feeds: [
        { name: 'candidatura', events: ['application.created'], descricao: 'x', codTipo: 'CANDIDATURA_GUPY', titulo: 'Candidatura (Gupy)', formaCriacaoOportunidade: 2 },
        { name: 'reprovacao', events: ['application.status-changed'], statuses: ['reproved'], descricao: 'x' },
        { name: 'desistencia', events: ['application.status-changed'], statuses: ['give_up'], descricao: 'x' }
      ]
    }))
    const e = env(t, rubeus, { MAPPING_FILE: mapping, RUBEUS_DELIVERY: 'push', RUBEUS_BASE_LEGAL: '3' })
    const first = await run(['setup-rubeus'], e)
    assert.equal(first.code, 0, first.stdout + first.stderr)
    assert.match(first.stdout, /^candidatura: event type CANDIDATURA_GUPY "Candidatura \(Gupy\)" created \(id \d+\)\n/)
    assert.match(first.stdout, /\nreprovacao: event type gupy-reprovacao already present \(id 9, "Reprovação"\)\n/)
    assert.match(first.stdout, /\ndesistencia: event type gupy-desistencia "Gupy: desistencia" created \(id \d+\)\n$/)
    const created = rubeus.callsTo('Evento/cadastroTipoEvento').map((c) => c.body)
    assert.deepEqual(created.map(({ codigo, titulo, fluxo, formaCriacaoOportunidade, origem }) => ({ codigo, titulo, fluxo, formaCriacaoOportunidade, origem })), [
      { codigo: 'CANDIDATURA_GUPY', titulo: 'Candidatura (Gupy)', fluxo: 0, formaCriacaoOportunidade: 2, origem: Number(RUBEUS_ORIGEM) },
      { codigo: 'gupy-desistencia', titulo: 'Gupy: desistencia', fluxo: 0, formaCriacaoOportunidade: 3, origem: Number(RUBEUS_ORIGEM) }
    ])

    const again = await run(['setup-rubeus'], e)
    assert.equal(again.code, 0)
    assert.equal(again.stdout.split('\n').filter((l) => l.includes('already present')).length, 3, again.stdout)
    assert.equal(rubeus.callsTo('Evento/cadastroTipoEvento').length, 2, 'nothing created the second time')
    for (const code of ['CANDIDATURA_GUPY', 'gupy-desistencia']) assert.equal(typesWith(rubeus, code), 1)

    const check = await run(['check-rubeus'], e)
    assert.equal(check.code, 0, check.stdout)
    assert.match(check.stdout, /\nok\n$/)
  })

  test('a creation whose answer is lost is looked up before it is tried again: no duplicate, in the same run or the next', async (t) => {
    const rubeus = await rubeusStandIn(t)
    const e = env(t, rubeus)
    rubeus.fail({ drop: 'after' }, { method: 'Evento/cadastroTipoEvento' })
    const first = await run(['setup-rubeus'], e)
    assert.equal(first.code, 0, first.stdout + first.stderr)
    assert.match(first.stdout, /^candidatura: event type gupy-candidatura "Gupy: candidatura" created \(id \d+; its answer was lost, found when listed again\)\n/)
    assert.match(first.stderr, /^Rubeus could not be reached \((UND_ERR_SOCKET|ECONNRESET)\) on Evento\/cadastroTipoEvento, 1 attempt\(s\); looking whether Rubeus made it before trying again\n$/)
    for (const feed of FEEDS) assert.equal(typesWith(rubeus, `gupy-${feed}`), 1, feed)
    assert.equal(rubeus.callsTo('Evento/cadastroTipoEvento').length, 4)

    // The answer is lost and Rubeus then stops answering the list: the run fails; the next one finds the type.
    const second = await rubeusStandIn(t)
    const e2 = env(t, second)
    second.fail({ drop: 'after' }, { method: 'Evento/cadastroTipoEvento' })
    second.fail({ status: 503 }, { method: 'Evento/listarTipoEvento', after: 1, times: 100 })
    const failed = await run(['setup-rubeus'], e2)
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /\nRubeus answered 503 on Evento\/listarTipoEvento, 3 attempt\(s\): run setup-rubeus again once Rubeus answers \(it creates only what is still missing\)\n$/)
    assert.equal(typesWith(second, 'gupy-candidatura'), 1, 'made, though its answer was lost')
    second.clearFaults()
    const next = await run(['setup-rubeus'], e2)
    assert.equal(next.code, 0, next.stdout + next.stderr)
    assert.match(next.stdout, /^candidatura: event type gupy-candidatura already present/)
    for (const feed of FEEDS) assert.equal(typesWith(second, `gupy-${feed}`), 1, feed)
  })

  test('a refused creation is said in Rubeus\'s words, the other types are still created, exit 1', async (t) => {
    const rubeus = await rubeusStandIn(t)
    rubeus.fail({ status: 200, body: JSON.stringify({ success: false, message: 'Já existe um tipo de evento com este título' }) }, { method: 'Evento/cadastroTipoEvento', after: 1 })
    const res = await run(['setup-rubeus'], env(t, rubeus))
    assert.equal(res.code, 1)
    assert.match(res.stdout, /\nmudanca-de-etapa: event type gupy-mudanca-de-etapa: NOT created: Rubeus refused Evento\/cadastroTipoEvento \(success: false\): Já existe um tipo de evento com este título\n/)
    assert.deepEqual(FEEDS.map((f) => typesWith(rubeus, `gupy-${f}`)), [1, 0, 1, 1])
  })

  test('help texts, and both commands listed', async () => {
    for (const name of ['check-rubeus', 'setup-rubeus']) {
      const help = await cli([name, '--help'], {})
      assert.equal(help.code, 0)
      assert.match(help.stdout, new RegExp(`^usage: gupy-rubeus-bridge ${name}\\n\\nNeeds RUBEUS_API_URL, RUBEUS_API_TOKEN and RUBEUS_ORIGEM`))
    }
    const list = await cli(['--help'], {})
    assert.match(list.stdout, /\n {2}check-rubeus {7}check Rubeus's CRM API/)
    assert.match(list.stdout, /\n {2}setup-rubeus {7}create in Rubeus the event types/)
  })
})
