/**
 * Personal data masked out of free text that comes from outside (an error body Gupy answers with)
 * before it reaches a message, a log line or a page: e-mails, CPFs, phone numbers and other long
 * digit runs, and the values of fields that name a person. Trimmed to one short line.
 */
import { cpf } from './vocabulary/formats.js'

/** Only the start of a body is looked at: enough for any message, cheap on a large answer. */
const SCAN_CHARS = 16_384

const EMAIL = /[^\s@"'<>(),;:[\]{}\\]+@[^\s@"'<>(),;:[\]{}\\]+\.[^\s@"'<>(),;:[\]{}\\]+/g
/** A digit run with the separators phones and CPFs are written with (`+55 (11) 98765-4321`, `123.456.789-09`). */
const DIGIT_RUN = /\+?\(?\d[\d\s().\-/]*\d/g
/** Fewer digits than this are ids, counts and dates; this many or more may be a CPF, a phone or a document. */
const MIN_MASKED_DIGITS = 10

/** JSON fields whose value is a person's name, document, phone, address or birth date, whatever it looks like. */
const NAME_FIELDS = ['name', 'lastName', 'firstName', 'fullName', 'socialName', 'candidateName', 'nome', 'sobrenome', 'nomeCompleto',
  'nomeSocial']
const OTHER_FIELDS = ['email', 'identificationDocument', 'document', 'documento', 'cpf', 'mobileNumber', 'phoneNumber', 'phone',
  'telefone', 'celular', 'birthdate', 'dataNascimento', 'addressStreet', 'addressNumber', 'addressZipCode', 'endereco', 'cep',
  'emailPrincipal', 'telefonePrincipal']
const field = (names: string[]) => new RegExp(`("(?:${names.join('|')})"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|-?\\d[\\d.eE+-]*)`, 'gi')
const NAME_FIELD = field(NAME_FIELDS)
const OTHER_FIELD = field(OTHER_FIELDS)

function maskDigits (run: string): string {
  const digits = run.replace(/\D/g, '')
  if (digits.length < MIN_MASKED_DIGITS) return run
  return cpf(run.replace(/^\+/, '')) !== undefined ? '[CPF]' : '[number]'
}

/**
 * `text` with personal data masked, on one line (runs of whitespace and control characters become
 * one space), trimmed, at most `maxLength` characters (an ellipsis marks a cut).
 */
export function maskPersonalData (text: string, maxLength = 300): string {
  let scanned = text
  if (scanned.length > SCAN_CHARS) {
    // Cut where a word ends, so that no half of an e-mail or a number escapes its pattern.
    scanned = scanned.slice(0, SCAN_CHARS)
    scanned = scanned.slice(0, Math.max(0, scanned.search(/[\s,;{}[\]]\S*$/)))
  }
  const masked = scanned
    .replace(NAME_FIELD, '$1"[name]"')
    .replace(OTHER_FIELD, '$1"[masked]"')
    .replace(EMAIL, '[e-mail]')
    .replace(DIGIT_RUN, maskDigits)
    // eslint-disable-next-line no-control-regex
    .replace(/[\s\x00-\x1f\x7f]+/g, ' ')
    .trim()
  const cut = masked.length > maxLength || scanned.length < text.length
  return cut ? `${masked.slice(0, Math.max(0, maxLength - 1))}…` : masked
}
