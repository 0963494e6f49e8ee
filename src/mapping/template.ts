/** Values taken from a delivery by dotted path, and the `{{path|fallback}}` description templates. */
import { escapeHtml, text } from '../vocabulary/formats.js'

const PLACEHOLDER = /\{\{\s*([^{}|\s]+)\s*(?:\|([^{}]*))?\}\}/g

/** A template whose every `{{` opens a well-formed placeholder. */
export const TEMPLATE_SYNTAX = {
  test: (template: string) => template.replace(PLACEHOLDER, '').match(/\{\{|\}\}/) === null
}

/** Largest description template, and largest rendered description (candidates type what fills it). */
export const TEMPLATE_MAX_BYTES = 4 * 1024
export const RENDERED_MAX_BYTES = 16 * 1024

/** The paths a template's placeholders name. */
export function templatePaths (template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!)
}

/**
 * Text cut to at most `maxBytes` of UTF-8, on a character boundary and never inside an HTML entity
 * (`&amp;` is kept whole or left out), so the cut text is still well-formed.
 */
export function cutUtf8 (html: string, maxBytes: number): string {
  if (html.length * 3 <= maxBytes || Buffer.byteLength(html) <= maxBytes) return html
  const bytes = Buffer.from(html)
  let end = maxBytes
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end-- // the first byte left out continues a character: leave it all out
  return bytes.subarray(0, end).toString('utf8').replace(/&[#a-zA-Z0-9]*$/, '')
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The raw value at a dotted path (`data.job.name`). Gupy custom fields are `[{id, title, value}]`:
 * a segment that is not an index picks the entry with that id or title, and stands for its value;
 * a select's chosen label, `value["<id>__value"]`, is what the path ends on, unless it goes deeper.
 */
export function valueAt (root: unknown, path: string): unknown {
  let current = root
  let customId: unknown
  for (const key of path.split('.')) {
    customId = undefined
    if (Array.isArray(current) && !/^\d+$/.test(key)) {
      const entry = current.find((e) => isRecord(e) && (e.id === key || e.title === key))
      current = isRecord(entry) ? entry.value : undefined
      customId = isRecord(entry) ? entry.id : undefined
    } else if (Array.isArray(current)) current = current[Number(key)]
    else if (isRecord(current)) current = Object.hasOwn(current, key) ? current[key] : undefined
    else return undefined
  }
  if (typeof customId === 'string' && isRecord(current) && `${customId}__value` in current) return current[`${customId}__value`]
  return current
}

/** A scalar as a Rubeus string value: trimmed text, numbers and booleans as text; else undefined. */
function scalar (value: unknown): string | undefined {
  if (typeof value === 'boolean') return value ? '1' : '0'
  return text(value)
}

/** The scalar at a dotted path, as a Rubeus string value. */
export function scalarAt (root: unknown, path: string): string | undefined {
  return scalar(valueAt(root, path))
}

/** A scalar, or a list of scalars (multi-valued Rubeus custom fields); else undefined. */
export function fieldAt (root: unknown, path: string): string | string[] | undefined {
  const value = valueAt(root, path)
  if (!Array.isArray(value)) return scalar(value)
  const list = value.map((v) => scalar(v)).filter((v) => v !== undefined)
  return list.length > 0 ? list : undefined
}

/** Fills each `{{path|fallback}}` with the HTML-escaped value at `path`, or the fallback; at most RENDERED_MAX_BYTES. */
export function renderTemplate (template: string, root: unknown): string {
  return cutUtf8(template.replace(PLACEHOLDER, (_m, path: string, fallback: string | undefined) =>
    escapeHtml(scalarAt(root, path) ?? fallback ?? '')), RENDERED_MAX_BYTES)
}
