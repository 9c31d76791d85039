import {parseTemplate, renderTemplate, type Template, type TemplatePart} from '../../config/template.js'
import type {FieldValue} from './field-generators.js'
import {numberText} from './number-text.js'

/** How a fleet's fields become a payload (the scenario's `payload:`). */
export type PayloadSpec = {format: 'json'; fields?: string[]} | {format: 'csv'; fields?: string[]; delimiter?: string} | {format: 'raw'; template: string}

/** Payload encoders: the fields of one message (declaration order) → the bytes-to-be as a string. */

export type Record_ = ReadonlyMap<string, FieldValue>
export type PayloadEncoder = (fields: Record_) => string

/**
 * `device` gives the device's own placeholders ({deviceId}, {index}, vars, {params.x}): a raw template may use them
 * beside the fields, as topics do. A name whose root is a field is the field's.
 */
export function createEncoder(spec: PayloadSpec, fieldOrder: readonly string[], device?: (name: string) => string | undefined): PayloadEncoder {
  switch (spec.format) {
    case 'json':
      return jsonEncoder(spec.fields ?? fieldOrder)
    case 'csv': {
      const names = spec.fields ?? fieldOrder
      const sep = spec.delimiter ?? ','
      const hints = new Uint8Array(names.length)
      return (fields) => {
        const cells: string[] = []
        for (let i = 0; i < names.length; i++) {
          const v = fields.get(names[i])
          // Object fields (gps) contribute their values in key order: lat, lon, heading, speed.
          if (v !== null && typeof v === 'object') for (const inner of Object.values(v)) cells.push(csvCell(inner, sep))
          else if (typeof v === 'number' && Number.isFinite(v)) cells.push(csvCell(numberText(v, hints, i), sep))
          else cells.push(csvCell(v, sep))
        }
        return cells.join(sep)
      }
    }
    case 'raw': {
      const template = withDevicePlaceholders(parseTemplate(spec.template, 'lenient'), new Set(fieldOrder), device)
      return (fields) => renderTemplate(template, (path) => textOf(lookupPath(fields, path)))
    }
  }
}

/**
 * The template with the device's placeholders rendered into its text once, so each message renders only the fields.
 * (Rendered into parts, not into the source: a param's value holding braces stays text.)
 */
function withDevicePlaceholders(template: Template, fields: ReadonlySet<string>, device: ((name: string) => string | undefined) | undefined): Template {
  if (!device) return template
  const parts: TemplatePart[] = []
  for (const part of template.parts) {
    if (typeof part !== 'string' && fields.has(part.name.split('.')[0])) {
      parts.push(part)
      continue
    }
    const text = typeof part === 'string' ? part : renderTemplate({source: '', parts: [part], names: []}, device)
    if (typeof parts.at(-1) === 'string') parts[parts.length - 1] += text
    else parts.push(text)
  }
  return {source: template.source, parts, names: parts.flatMap((p) => (typeof p === 'string' ? [] : [p.name]))}
}

/**
 * JSON text of the named fields, written directly: the same bytes as JSON.stringify of an object built in that order,
 * without the object (it was a third of the encoding cost at 100,000 messages/s). Names an object would reorder
 * (integer-like keys go first) or treat specially (`__proto__`) keep the object path, so the text never differs.
 */
function jsonEncoder(names: readonly string[]): PayloadEncoder {
  const unique = [...new Set(names)]
  if (unique.some((name) => /^(0|[1-9]\d*)$/.test(name) || name === '__proto__')) {
    return (fields) => {
      const obj: Record<string, FieldValue> = {}
      for (const name of names) obj[name] = fields.get(name) as FieldValue
      return JSON.stringify(obj)
    }
  }
  const keys = unique.map((name) => `${JSON.stringify(name)}:`)
  // Per field, the decimals its numbers had last time (numberText).
  const hints = new Uint8Array(unique.length)
  return (fields) => {
    let text = ''
    for (let i = 0; i < unique.length; i++) {
      const v = fields.get(unique[i])
      if (v === undefined) continue
      text += `${text === '' ? '{' : ','}${keys[i]}${typeof v === 'number' ? jsonNumber(v, hints, i) : jsonValue(v)}`
    }
    return text === '' ? '{}' : `${text}}`
  }
}

/** JSON has no NaN or Infinity: JSON.stringify writes null for them. */
function jsonNumber(v: number, hints: Uint8Array, slot: number): string {
  return Number.isFinite(v) ? numberText(v, hints, slot) : 'null'
}

function jsonValue(v: FieldValue): string {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null'
    case 'boolean':
      return v ? 'true' : 'false'
    default:
      return JSON.stringify(v)
  }
}

export function lookupPath(fields: Record_, path: string): FieldValue | undefined {
  const dot = path.indexOf('.')
  if (dot < 0) return fields.get(path)
  const v = fields.get(path.slice(0, dot))
  return v !== null && typeof v === 'object' ? (v as unknown as Record<string, number>)[path.slice(dot + 1)] : undefined
}

function textOf(v: FieldValue | undefined): string | undefined {
  if (v === undefined) return undefined
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** RFC 4180: quote a cell holding the delimiter, a quote or a line break; double the quotes inside. */
export function csvCell(v: unknown, sep = ','): string {
  const text = v === undefined || v === null ? '' : String(v)
  return text.includes(sep) || /["\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
