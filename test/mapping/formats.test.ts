/** Format normalisers, with values as Gupy really sends them. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as f from '../../src/vocabulary/formats.js'

/** An independent CPF check-digit computation, for building valid test CPFs. */
function withCheckDigits (nine: string): string {
  const digit = (s: string) => {
    const sum = [...s].reduce((acc, d, i) => acc + Number(d) * (s.length + 1 - i), 0)
    const r = sum % 11
    return r < 2 ? '0' : String(11 - r)
  }
  const ten = nine + digit(nine)
  return ten + digit(ten)
}

describe('cpf', () => {
  test('valid CPFs, plain or punctuated, leading zero kept', () => {
    assert.equal(f.cpf('529.982.247-25'), '52998224725')
    assert.equal(f.cpf(' 01234567890 '), '01234567890')
    assert.equal(f.cpf(withCheckDigits('000000001')), '00000000191')
  })

  test('bad check digits, repeated digits, foreign documents, numbers, nulls', () => {
    for (const bad of ['25272626207', '11111111111', '00000000000', 'AB1234567', '0123456789', '012345678901', '', '   ']) {
      assert.equal(f.cpf(bad), undefined, bad)
    }
    assert.equal(f.cpf(1234567890), undefined) // a number has lost its leading zero
    assert.equal(f.cpf(null), undefined)
  })

  test('property: any nine digits with computed check digits pass; a changed check digit fails', () => {
    fc.assert(fc.property(fc.stringMatching(/^\d{9}$/), fc.integer({ min: 1, max: 9 }), fc.boolean(), (nine, delta, first) => {
      const valid = withCheckDigits(nine)
      if (/^(\d)\1{10}$/.test(valid)) return
      assert.equal(f.cpf(valid), valid)
      assert.equal(f.cpf(`${valid.slice(0, 3)}.${valid.slice(3, 6)}.${valid.slice(6, 9)}-${valid.slice(9)}`), valid)
      const at = first ? 9 : 10
      const broken = valid.slice(0, at) + String((Number(valid[at]) + delta) % 10) + valid.slice(at + 1)
      assert.equal(f.cpf(broken), undefined)
    }))
  })
})

describe('email', () => {
  test('trimmed and lower-cased; malformed left out', () => {
    assert.equal(f.email(' John.Doe@Example.COM '), 'john.doe@example.com')
    for (const bad of ['', 'john', 'john@', 'john@example', 'jo hn@example.com', 'a@b..com', null, 42]) {
      assert.equal(f.email(bad), undefined, String(bad))
    }
  })
})

describe('phone', () => {
  test('the forms Gupy sends', () => {
    assert.equal(f.phone('+5511999990000'), '55(11)999990000')
    assert.equal(f.phone('+551130000000'), '55(11)30000000')
    assert.equal(f.phone('11987654321'), '55(11)987654321')
    assert.equal(f.phone('(21) 98765-4321'), '55(21)987654321')
    assert.equal(f.phone('+55 (31) 2658-2323'), '55(31)26582323')
    assert.equal(f.phone('5531987654321'), '55(31)987654321')
    assert.equal(f.phone('0055 11 99999 0000'), '55(11)999990000')
    assert.equal(f.phone('011 99999 0000'), '55(11)999990000')
    assert.equal(f.phone(11987654321), '55(11)987654321')
  })

  test('foreign, short, long, junk and impossible numbers are left out', () => {
    for (const bad of ['+1 415 555 0100', '+351912345678', '99990000', '+55119999900001', '(11) 8765-4321',
      '(01) 98765-4321', '11 98765-432x', 'n/a', '', null, {}]) {
      assert.equal(f.phone(bad), undefined, String(bad))
    }
  })

  test('property: every way of writing a mobile number gives the same result', () => {
    fc.assert(fc.property(fc.stringMatching(/^[1-9]{2}$/), fc.stringMatching(/^\d{8}$/), (ddd, rest) => {
      const expected = `55(${ddd})9${rest}`
      for (const form of [`+55${ddd}9${rest}`, `${ddd}9${rest}`, `(${ddd}) 9${rest.slice(0, 4)}-${rest.slice(4)}`, `+55 (${ddd}) 9${rest.slice(0, 4)}-${rest.slice(4)}`]) {
        assert.equal(f.phone(form), expected, form)
      }
    }))
  })
})

describe('address', () => {
  test('cep as NNNNN-NNN', () => {
    assert.equal(f.cep('01310-100'), '01310-100')
    assert.equal(f.cep('01310100'), '01310-100')
    assert.equal(f.cep('01.310-100'), '01310-100')
    for (const bad of ['', '0', '00000-000', '1310-100', 'ABCDE-FGH', null]) assert.equal(f.cep(bad), undefined, String(bad))
  })

  test('uf from the short name, else the full name with or without accents', () => {
    assert.equal(f.uf('SP', 'São Paulo'), 'SP')
    assert.equal(f.uf(' sp ', null), 'SP')
    assert.equal(f.uf('', 'RS'), 'RS')
    assert.equal(f.uf(null, 'sao paulo'), 'SP')
    assert.equal(f.uf(undefined, 'ESPÍRITO  SANTO'), 'ES')
    assert.equal(f.uf('', 'Distrito Federal'), 'DF')
    assert.equal(f.uf('XX', 'Paraíba'), 'PB')
    assert.equal(f.uf('', 'Lisboa'), undefined)
    assert.equal(f.uf(null, null), undefined)
  })

  test('house number: the first run of digits', () => {
    assert.equal(f.houseNumber('595 - 10º andar'), '595')
    assert.equal(f.houseNumber(' 12A'), '12')
    assert.equal(f.houseNumber('0042'), '42')
    assert.equal(f.houseNumber(342), '342')
    for (const bad of ['s/n', 'SN', '', '0', null]) assert.equal(f.houseNumber(bad), undefined, String(bad))
  })

  test('free text: whitespace collapsed, control characters removed, empty left out', () => {
    assert.equal(f.text('  Rua\tHaddock\n Lobo  '), 'Rua Haddock Lobo')
    assert.equal(f.text('   '), undefined)
    assert.equal(f.text(null), undefined)
    assert.equal(f.text('x'.repeat(300))?.length, 200)
  })
})

describe('person', () => {
  test('full name single-spaced, missing parts skipped', () => {
    assert.equal(f.fullName('  John   Paul ', ' Doe '), 'John Paul Doe')
    assert.equal(f.fullName('Maria', null), 'Maria')
    assert.equal(f.fullName('', '  '), undefined)
  })

  test('gender M / F', () => {
    assert.equal(f.gender('Male'), 'M')
    assert.equal(f.gender('female'), 'F')
    assert.equal(f.gender('FEMININO'), 'F')
    assert.equal(f.gender('prefer_not_to_say'), undefined)
    assert.equal(f.gender(null), undefined)
  })

  test('birth date as YYYY-MM-DD', () => {
    assert.equal(f.birthDate('1994-11-16'), '1994-11-16')
    assert.equal(f.birthDate('16/11/1994'), '1994-11-16')
    assert.equal(f.birthDate('1994-11-16T03:00:00.000Z'), '1994-11-16')
    assert.equal(f.birthDate('1994-06-16T02:00:00.000Z'), '1994-06-15') // 23:00 the day before in Brasília
    assert.equal(f.birthDate('2024-02-29'), '2024-02-29')
    for (const bad of ['2023-02-29', '1994-13-01', '1850-01-01', '2999-01-01', '', 'ontem', null]) {
      assert.equal(f.birthDate(bad), undefined, String(bad))
    }
  })
})

describe('text helpers', () => {
  test('escapeHtml', () => {
    assert.equal(f.escapeHtml('<script>alert("x")</script> & \'y\''),
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;')
  })

  test('foldText makes step names comparable', () => {
    assert.equal(f.foldText('  Contratação '), f.foldText('CONTRATACAO'))
    assert.notEqual(f.foldText('Contratação'), f.foldText('Contratado'))
  })

  test('localDateTime in a time zone, midnight as 00', () => {
    assert.equal(f.localDateTime(Date.parse('2025-07-01T12:00:00.000Z'), 'America/Sao_Paulo'), '2025-07-01 09:00:00')
    assert.equal(f.localDateTime(Date.parse('2025-07-02T02:59:59.000Z'), 'America/Sao_Paulo'), '2025-07-01 23:59:59')
    assert.equal(f.localDateTime(Date.parse('2025-07-02T03:00:00.000Z'), 'America/Sao_Paulo'), '2025-07-02 00:00:00')
    assert.equal(f.localDateTime(Date.parse('2025-07-02T00:00:00.000Z'), 'UTC'), '2025-07-02 00:00:00')
  })

  test('localDateTime agrees with the time zone\'s parts for any instant from 1900 to 2200, in zones with odd offsets', () => {
    const parts = (ms: number, timeZone: string) => {
      const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'
      }).formatToParts(ms).map(({ type, value }) => [type, value]))
      return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
    }
    fc.assert(fc.property(
      fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) }),
      fc.constantFrom('America/Sao_Paulo', 'America/Noronha', 'America/Manaus', 'UTC', 'Asia/Kolkata', 'Pacific/Chatham'),
      (ms, zone) => f.localDateTime(ms, zone) === parts(ms, zone)
    ), { numRuns: 2000 })
  })

  test('recordJson: every unpaired surrogate becomes U+FFFD, and the text is what a stringify of the well-formed record gives', () => {
    assert.equal(f.recordJson({ a: 'x\ud800y', b: '😀', c: ['\udc00'], d: '\\ud800' }), '{"a":"x\uFFFDy","b":"😀","c":["\uFFFD"],"d":"\\\\ud800"}')
    const wellFormed = (value: unknown): unknown => typeof value === 'string'
      ? f.wellFormed(value)
      : Array.isArray(value) ? value.map(wellFormed) : value
    fc.assert(fc.property(
      fc.dictionary(fc.string(), fc.oneof(fc.string({ unit: 'binary' }), fc.array(fc.string({ unit: 'binary' })), fc.integer())),
      (record) => f.recordJson(record) === JSON.stringify(Object.fromEntries(Object.entries(record).map(([k, v]) => [k, wellFormed(v)])))
    ), { numRuns: 2000 })
  })

  test('isTimeZone', () => {
    assert.equal(f.isTimeZone('America/Sao_Paulo'), true)
    assert.equal(f.isTimeZone('UTC'), true)
    assert.equal(f.isTimeZone('Mars/Olympus'), false)
  })
})
