import {z} from 'zod'
import {scenarioSchema} from './schema.js'
import {documentedUnionFor} from '../../config/shape-dispatch.js'
import {PARAM_REF_PATTERN} from './params.js'

/**
 * The JSON Schema of scenario files, generated from the zod schema's input side (what users write).
 * scripts/generate-schemas.ts writes it to schemas/scenario.schema.json; a unit test keeps that file current.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  // A value of several shapes (byShape) is written as the union it stands for, and so is one inside it (a list of
  // command rules whose keys are such values), hence the same override for the union's own schema.
  const options = {
    io: 'input',
    unrepresentable: 'any',
    override(ctx: {zodSchema: unknown; jsonSchema: unknown}) {
      const documented = documentedUnionFor(ctx.zodSchema)
      if (!documented) return
      const inner = z.toJSONSchema(documented, options) as Record<string, unknown>
      delete inner.$schema
      const node = ctx.jsonSchema as Record<string, unknown>
      // A description given to the byShape schema itself (`byShape(...).meta({description})`) stays.
      const description = node.description
      for (const k of Object.keys(node)) delete node[k]
      Object.assign(node, inner)
      if (description !== undefined && node.description === undefined) node.description = description
    },
  } as const
  const schema = z.toJSONSchema(scenarioSchema, options) as Record<string, unknown>
  acceptParamRefs(schema)
  return {
    ...schema,
    $id: 'https://iotd.dev/schemas/scenario.schema.json',
    title: 'iotd scenario (version 1)',
    description: 'A fleet of simulated MQTT devices for `iotd sim`. Reference: docs/scenario-reference.md',
  }
}

type Node = Record<string, unknown>

const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v)

/** A schema that accepts a number: `type: number|integer`, or a union with such a branch (durations: 5s or ms). */
function acceptsNumber(s: Node): boolean {
  const t = s.type
  if (t === 'number' || t === 'integer' || (Array.isArray(t) && (t.includes('number') || t.includes('integer')))) return true
  return Array.isArray(s.anyOf) && s.anyOf.some((b) => isNode(b) && acceptsNumber(b))
}

/**
 * The loader reads `"{params.x}"` as a number in any numeric argument of a fleet's field generators, base and
 * `byMode` (params.ts prepareParamRefs); zod never sees the text, so the generated schema would say only "number".
 * Each such argument also takes the reference's written form here, so an editor does not flag a valid scenario.
 */
function acceptParamRefs(schema: Node): void {
  const fleets = (schema.properties as Node | undefined)?.fleets as Node | undefined
  const fleet = fleets?.items as Node | undefined
  const fields = (fleet?.properties as Node | undefined)?.fields as Node | undefined
  if (isNode(fields?.additionalProperties)) visitGenerators(fields.additionalProperties)
}

function visitGenerators(node: Node): void {
  const properties = node.properties
  if (isNode(properties) && isNode(properties.kind)) {
    widen(properties)
    const byMode = properties.byMode
    if (isNode(byMode) && isNode(byMode.additionalProperties) && isNode(byMode.additionalProperties.properties)) widen(byMode.additionalProperties.properties)
    return
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = node[key]
    if (Array.isArray(branches)) for (const b of branches) if (isNode(b)) visitGenerators(b)
  }
}

function widen(properties: Node): void {
  for (const [name, s] of Object.entries(properties)) {
    // A constant's value already takes any text (a template); kind and expr are never references.
    if (name === 'kind' || name === 'expr' || name === 'byMode' || !isNode(s) || !acceptsNumber(s)) continue
    if (Array.isArray(s.type) && s.type.includes('string')) continue
    const {description, default: byDefault, ...rest} = s
    for (const k of Object.keys(s)) delete s[k]
    if (description !== undefined) s.description = description
    if (byDefault !== undefined) s.default = byDefault
    s.anyOf = [rest, {type: 'string', pattern: PARAM_REF_PATTERN, description: 'A number param of the device: "{params.name}".'}]
  }
}

export function scenarioJsonSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`
}
