/**
 * Templates in scenario files: `acme/{site}/{line}/{deviceId}/telemetry`, `{fleet}-{index:04}`.
 * A placeholder is `{name}` or `{name:0N}` (zero-padded to N digits); names may be dotted (`{gps.lat}` in raw
 * payload templates). `{{` and `}}` are literal braces.
 *
 * Topics, ids and client ids are parsed strictly: any other brace is an error (a forgotten `}` is the common
 * mistake). Payload templates are lenient: JSON such as `{"online":true}` is literal text.
 */

export type TemplatePart = string | {name: string; pad?: number; column: number}

export interface Template {
  source: string
  parts: TemplatePart[]
  /** Names of the placeholders, in order of appearance. */
  names: string[]
}

export class TemplateError extends Error {
  readonly column: number
  constructor(message: string, column: number) {
    super(message)
    this.name = 'TemplateError'
    this.column = column
  }
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?::(0\d+))?\}/y

export function parseTemplate(source: string, mode: 'strict' | 'lenient' = 'strict'): Template {
  const parts: TemplatePart[] = []
  const names: string[] = []
  let text = ''
  let i = 0
  while (i < source.length) {
    const ch = source[i]
    if ((ch === '{' || ch === '}') && source[i + 1] === ch && mode === 'strict') {
      text += ch
      i += 2
      continue
    }
    if (ch === '{') {
      PLACEHOLDER.lastIndex = i
      const m = PLACEHOLDER.exec(source)
      if (m) {
        if (text) parts.push(text)
        text = ''
        parts.push({name: m[1], pad: m[2] ? Number(m[2].slice(1)) : undefined, column: i + 1})
        names.push(m[1])
        i = PLACEHOLDER.lastIndex
        continue
      }
      if (mode === 'strict') {
        const close = source.indexOf('}', i)
        const message =
          close < 0 ? `unbalanced "{" at column ${i + 1} (missing "}")` : `"${source.slice(i, close + 1)}" at column ${i + 1} is not a placeholder (use {name} or {name:04}; {{ for a literal brace)`
        throw new TemplateError(message, i + 1)
      }
    } else if (ch === '}' && mode === 'strict') {
      throw new TemplateError(`unbalanced "}" at column ${i + 1} (use }} for a literal brace)`, i + 1)
    }
    text += ch
    i++
  }
  if (text) parts.push(text)
  return {source, parts, names}
}

/** Renders a parsed template. `lookup` returns undefined for unknown names, which render as empty strings. */
export function renderTemplate(template: Template, lookup: (name: string) => string | number | boolean | undefined): string {
  let out = ''
  for (const part of template.parts) {
    if (typeof part === 'string') {
      out += part
      continue
    }
    const value = lookup(part.name)
    const text = value === undefined ? '' : String(value)
    out += part.pad ? text.padStart(part.pad, '0') : text
  }
  return out
}

/** Parses and renders in one go (for one-off strings); throws TemplateError on a malformed template. */
export function render(source: string, vars: Record<string, string | number>, mode: 'strict' | 'lenient' = 'strict'): string {
  return renderTemplate(parseTemplate(source, mode), (name) => vars[name])
}
