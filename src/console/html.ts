/** HTML built with a tagged template that escapes every interpolated value unless it is already HTML. */
import { escapeHtml } from '../vocabulary/formats.js'

/** Markup that was built by `html` (and so is escaped where it holds values). */
export class Html {
  constructor (readonly text: string) {}
  toString (): string { return this.text }
}

type Value = Html | string | number | null | undefined | readonly Value[]

function render (value: Value): string {
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === null || value === undefined) return ''
  return escapeHtml(String(value))
}

/** `html\`<td>${value}</td>\``: strings and numbers are escaped, arrays joined, `Html` kept as it is. */
export function html (strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!
  values.forEach((v, i) => { out += render(v) + strings[i + 1]! })
  return new Html(out)
}
