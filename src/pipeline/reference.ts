/**
 * The generated parts of docs/pipeline-reference.md: every source and sink with its options (from the registered
 * zod specs) and every SQL function (from the function registry). A unit test fails when the document's generated
 * blocks differ from what this produces (regenerate with `npx tsx scripts/generate-pipeline-reference.ts`).
 */
import {z} from 'zod'
import {defaultFunctionRegistry, type FunctionSpec} from './rule/index.js'
import {SINK_SPECS, SOURCE_SPECS} from './registry.js'
import {sinkCommonShape, sourceCommonShape} from './config/schema.js'

interface JsonSchemaNode {
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  default?: unknown
  description?: string
  anyOf?: JsonSchemaNode[]
  oneOf?: JsonSchemaNode[]
  items?: JsonSchemaNode
  properties?: Record<string, JsonSchemaNode>
  additionalProperties?: JsonSchemaNode | boolean
  required?: string[]
  minimum?: number
  maximum?: number
}

function typeOf(n: JsonSchemaNode): string {
  if (n.enum) return n.enum.map((v) => `\`${String(v)}\``).join(' | ')
  if (n.const !== undefined) return `\`${String(n.const)}\``
  const alts = n.anyOf ?? n.oneOf
  if (alts) return [...new Set(alts.map(typeOf))].join(' | ')
  if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'any'}`
  if (n.type === 'object') {
    if (n.properties) return `{${Object.keys(n.properties).join(', ')}}`
    return 'map'
  }
  if (Array.isArray(n.type)) return n.type.join(' | ')
  return n.type ?? 'any'
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

function optionRows(schema: z.ZodType): string[] {
  const js = z.toJSONSchema(schema, {io: 'input', unrepresentable: 'any'}) as JsonSchemaNode
  const required = new Set(js.required ?? [])
  const rows: string[] = []
  for (const [key, node] of Object.entries(js.properties ?? {})) {
    if (key === 'type') continue
    const def = node.default !== undefined ? `\`${JSON.stringify(node.default)}\`` : required.has(key) ? '**required**' : ''
    rows.push(`| \`${key}\` | ${cell(typeOf(node))} | ${def} | ${cell(node.description ?? '')} |`)
    // One level of nested options (batch.count, retry.max) is worth listing.
    if (node.properties && typeof node.properties === 'object') {
      for (const [sub, sn] of Object.entries(node.properties)) {
        const sdef = sn.default !== undefined ? `\`${JSON.stringify(sn.default)}\`` : ''
        rows.push(`| \`${key}.${sub}\` | ${cell(typeOf(sn))} | ${sdef} | ${cell(sn.description ?? '')} |`)
      }
    }
  }
  return rows
}

const HEADER = ['| option | type | default | meaning |', '|---|---|---|---|']

/** Markdown for every registered source and sink kind. */
export function componentReference(): string {
  const out: string[] = []
  out.push('### Keys of every source', '', ...HEADER, ...optionRows(z.object(sourceCommonShape)), '')
  for (const spec of SOURCE_SPECS) {
    out.push(`### Source \`${spec.type}\``, '', `${spec.summary}${spec.finite ? ' Finite: its end flushes every window.' : ' Live: runs until stopped.'}`, '')
    out.push(...HEADER, ...optionRows(spec.options), '')
  }
  out.push('### Keys of every sink', '', ...HEADER, ...optionRows(z.object(sinkCommonShape)), '')
  for (const spec of SINK_SPECS) {
    const batch = !spec.batch
      ? ''
      : spec.batch.intervalMs > 0
        ? ` Default batching: ${spec.batch.count} rows or ${spec.batch.intervalMs} ms.`
        : ` Default batching: up to ${spec.batch.count} rows, written as soon as the rule has taken each source batch.`
    out.push(`### Sink \`${spec.type}\``, '', `${spec.summary}${batch}`, '')
    out.push(...HEADER, ...optionRows(spec.options), '')
  }
  return out.join('\n')
}

function signature(f: FunctionSpec): string {
  if (f.kind === 'window') return `${f.name}()`
  const params = f.params.map((p, i) => (i < f.required ? p.name : `[${p.name}]`))
  if (f.variadic) params.push(`${f.variadic.name}…`)
  return `${f.name}(${params.join(', ')})`
}

/** Markdown tables of every SQL function, by kind. */
export function functionReference(): string {
  const all = defaultFunctionRegistry().list()
  const out: string[] = []
  const kinds: [FunctionSpec['kind'], string][] = [
    ['aggregate', 'Aggregates (windowed rules)'],
    ['stateful', 'Stateful functions (per key, across rows)'],
    ['window', 'Window bounds'],
    ['scalar', 'Scalar functions'],
  ]
  for (const [kind, title] of kinds) {
    const fs = all.filter((f) => f.kind === kind)
    if (fs.length === 0) continue
    out.push(`#### ${title}`, '', '| function | what it returns |', '|---|---|')
    for (const f of fs) out.push(`| \`${signature(f)}\` | ${cell(f.summary)} |`)
    out.push('')
  }
  return out.join('\n')
}

/** Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`. */
export function fillGenerated(doc: string, name: string, body: string): string {
  const start = `<!-- generated:${name} -->`
  const end = `<!-- /generated:${name} -->`
  const a = doc.indexOf(start)
  const b = doc.indexOf(end)
  if (a < 0 || b < a) throw new Error(`docs: no ${start} … ${end} block`)
  return `${doc.slice(0, a + start.length)}\n${body.trim()}\n${doc.slice(b)}`
}
