import type {z} from 'zod'
import type {GeneratorKindSpec} from './generator-kind.js'
import {GENERATORS} from './registry.js'

/**
 * The generator section of docs/scenario-reference.md, written from the kinds' specs
 * (scripts/generate-scenario-reference.ts; a unit test keeps the committed document current).
 */
export function generatorReference(): string {
  return GENERATORS.map((g) => kindReference(g as unknown as GeneratorKindSpec)).join('\n\n')
}

function kindReference(g: GeneratorKindSpec): string {
  const parts = [`### \`${g.kind}\``, g.doc]
  const params = Object.entries(g.params).map(([name, schema]) => {
    const s = schema as z.ZodType
    const dflt = (g.defaults as Record<string, unknown> | undefined)?.[name]
    const need = !s.safeParse(undefined).success ? 'required' : dflt === undefined ? 'optional' : `default \`${String(dflt)}\``
    const notes = [s.description, g.fixedInMode?.[name] ? 'byMode cannot change it' : undefined].filter(Boolean)
    return `- \`${name}\`: ${need}${notes.length ? `. ${notes.join('; ')}` : ''}`
  })
  if (params.length > 0) parts.push(params.join('\n'))
  const traits = [
    g.numeric ? 'numeric (spike, shift, drift, noise and out-of-range anomalies apply)' : undefined,
    g.modal ? '`byMode` may change its parameters' : undefined,
    g.objectKeys ? `its value is an object: ${g.objectKeys.map((k) => `\`<field>.${k}\``).join(', ')}` : undefined,
  ].filter(Boolean)
  if (traits.length > 0) parts.push(`${traits.join('; ')}.`.replace(/^./, (c) => c.toUpperCase()))
  if (g.example) {
    const fields = g.example
      .split('\n')
      .map((l) => `      ${l}`)
      .join('\n')
    parts.push(['```yaml', 'version: 1', 'fleets:', '  - name: demo', '    count: 2', '    topic: "demo/{deviceId}"', '    every: 1s', '    fields:', fields, '```'].join('\n'))
  }
  return parts.join('\n\n')
}
