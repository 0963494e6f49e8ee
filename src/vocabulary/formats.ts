/** Normalisers from Gupy's free-form values to the exact formats Rubeus expects; undefined when invalid. */

const isDigits = (s: string) => /^\d+$/.test(s)

/** The CPF check digit that follows these 9 (or 10) digits. */
export function cpfCheckDigit (digits: string): number {
  let sum = 0
  for (let i = 0; i < digits.length; i++) sum += Number(digits[i]) * (digits.length + 1 - i)
  const r = (sum * 10) % 11
  return r === 10 ? 0 : r
}

/** Nine digits completed with their two CPF check digits (for fake people in simulations and tests). */
export function withCpfCheckDigits (nine: string): string {
  const ten = nine + String(cpfCheckDigit(nine))
  return ten + String(cpfCheckDigit(ten))
}

/** A CPF: 11 digits (leading zeros kept), not one repeated digit, both check digits valid. */
export function cpf (value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined // a number has lost its leading zeros
  const digits = value.replace(/[.\-/\s]/g, '')
  if (digits.length !== 11 || !isDigits(digits) || /^(\d)\1{10}$/.test(digits)) return undefined
  const valid = cpfCheckDigit(digits.slice(0, 9)) === Number(digits[9]) && cpfCheckDigit(digits.slice(0, 10)) === Number(digits[10])
  return valid ? digits : undefined
}

/** An e-mail address, trimmed and lower-cased. */
export function email (value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const e = value.trim().toLowerCase()
  return e.length <= 254 && /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(e) ? e : undefined
}

/** A Brazilian phone as `55(DD)NNNNNNNNN`: mobile 9 + 8 digits, landline 2–5 + 7 digits. */
export function phone (value: unknown): string | undefined {
  const raw = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof raw !== 'string' || !/^[\d\s+().-]+$/.test(raw)) return undefined
  const plus = raw.trim().startsWith('+')
  let digits = raw.replace(/\D/g, '')
  if (plus || digits.startsWith('00')) {
    digits = digits.replace(/^00/, '')
    if (!digits.startsWith('55')) return undefined
    digits = digits.slice(2)
  } else if ((digits.length === 12 || digits.length === 13) && digits.startsWith('55')) {
    digits = digits.slice(2)
  } else if ((digits.length === 11 || digits.length === 12) && digits.startsWith('0')) {
    digits = digits.slice(1) // national trunk prefix
  }
  const m = /^([1-9]{2})(9\d{8}|[2-5]\d{7})$/.exec(digits)
  return m === null ? undefined : `55(${m[1]})${m[2]}`
}

/** A CEP as `NNNNN-NNN`. */
export function cep (value: unknown): string | undefined {
  const raw = typeof value === 'number' ? String(value) : value
  if (typeof raw !== 'string') return undefined
  const digits = raw.replace(/[.\-\s]/g, '')
  return digits.length === 8 && isDigits(digits) && digits !== '00000000' ? `${digits.slice(0, 5)}-${digits.slice(5)}` : undefined
}

/** The 27 federative units: code and folded full name. */
const STATES = new Map([
  'AC acre', 'AL alagoas', 'AP amapa', 'AM amazonas', 'BA bahia', 'CE ceara', 'DF distrito federal',
  'ES espirito santo', 'GO goias', 'MA maranhao', 'MT mato grosso', 'MS mato grosso do sul', 'MG minas gerais',
  'PA para', 'PB paraiba', 'PR parana', 'PE pernambuco', 'PI piaui', 'RJ rio de janeiro', 'RN rio grande do norte',
  'RS rio grande do sul', 'RO rondonia', 'RR roraima', 'SC santa catarina', 'SP sao paulo', 'SE sergipe', 'TO tocantins'
].map((entry) => [entry.slice(3), entry.slice(0, 2)]))
const CODES = new Set(STATES.values())

/** The two-letter code of a Brazilian state, from the short name or else the full name. */
export function uf (shortName: unknown, fullName: unknown): string | undefined {
  for (const value of [shortName, fullName]) {
    if (typeof value !== 'string') continue
    const code = value.trim().toUpperCase()
    if (CODES.has(code)) return code
    const byName = STATES.get(foldText(value))
    if (byName !== undefined) return byName
  }
  return undefined
}

/** The first run of digits of an address number (`"595 - 10º andar"` → `"595"`). */
export function houseNumber (value: unknown): string | undefined {
  const raw = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof raw !== 'string') return undefined
  const run = /\d+/.exec(raw)?.[0].replace(/^0+/, '')
  return run === undefined || run === '' ? undefined : run
}

/** `M` / `F` from Gupy's `Male` / `Female` (any case, also Portuguese). */
export function gender (value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const g = value.trim().toLowerCase()
  if (g === 'male' || g === 'masculino' || g === 'm') return 'M'
  if (g === 'female' || g === 'feminino' || g === 'f') return 'F'
  return undefined
}

/** A birth date as `YYYY-MM-DD`, from `YYYY-MM-DD`, `DD/MM/YYYY` or an ISO timestamp. */
export function birthDate (value: unknown, timeZone = 'America/Sao_Paulo'): string | undefined {
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  let ymd: string
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) ymd = v
  else if (/^\d{2}\/\d{2}\/\d{4}$/.test(v)) ymd = `${v.slice(6)}-${v.slice(3, 5)}-${v.slice(0, 2)}`
  else if (/^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v))) ymd = localDateTime(Date.parse(v), timeZone).slice(0, 10)
  else return undefined
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number]
  const date = new Date(Date.UTC(y, m - 1, d))
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
  return real && y >= 1900 && date.getTime() <= Date.now() ? ymd : undefined
}

/** A UTF-16 surrogate without its other half: strict UTF-8 consumers reject it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** The string with every unpaired surrogate replaced by U+FFFD, as a UTF-8 encoder would. */
export function wellFormed (value: string): string {
  return value.replace(LONE_SURROGATE, '\uFFFD')
}

/** A record as the JSON text served to Rubeus: every string well-formed. */
export function recordJson (record: Record<string, unknown>): string {
  // JSON.stringify writes an unpaired surrogate as an escape, `\udXXX`: text without one has none,
  // and needs no replacer (which costs more than the stringify itself).
  const json = JSON.stringify(record)
  return json.includes('\\ud') ? JSON.stringify(record, (_key, value: unknown) => typeof value === 'string' ? wellFormed(value) : value) : json
}

/**
 * Free text: control characters removed, whitespace collapsed, trimmed, unpaired surrogates
 * replaced, at most `maxLength` characters (code points: a pair is never cut in two).
 */
export function text (value: unknown, maxLength = 200): string | undefined {
  const raw = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof raw !== 'string') return undefined
  // eslint-disable-next-line no-control-regex
  const t = wellFormed(raw).replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim()
  if (t === '') return undefined
  if (t.length <= maxLength) return t
  return Array.from(t).slice(0, maxLength).join('').trimEnd()
}

/** First and last name, single-spaced. */
export function fullName (first: unknown, last: unknown): string | undefined {
  const parts = [text(first), text(last)].filter((p) => p !== undefined)
  return parts.length === 0 ? undefined : parts.join(' ')
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes a value placed into HTML. */
export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML[c]!)
}

/** For comparing names: no accents, lower case, single spaces. */
export function foldText (value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim()
}

const formatters = new Map<string, Intl.DateTimeFormat>()
/** What en-US with these options writes: `07/01/2025, 09:00:00`. */
const US = /^(\d{2})\/(\d{2})\/(\d{4}), (\d{2}:\d{2}:\d{2})$/

/** `YYYY-MM-DD HH:mm:ss` of an instant in a time zone. */
export function localDateTime (epochMs: number, timeZone: string): string {
  let format = formatters.get(timeZone)
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'
    })
    formatters.set(timeZone, format)
  }
  // One format() and a match cost a fifth of formatToParts(); the parts remain for a year past 9999.
  const m = US.exec(format.format(epochMs))
  if (m !== null) return `${m[3]}-${m[1]}-${m[2]} ${m[4]}`
  const p: Record<string, string> = {}
  for (const { type, value } of format.formatToParts(epochMs)) p[type] = value
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
}

/** Whether `Intl` knows the time zone. */
export function isTimeZone (value: string): boolean {
  try {
    Intl.DateTimeFormat('en-US', { timeZone: value })
    return true
  } catch {
    return false
  }
}
