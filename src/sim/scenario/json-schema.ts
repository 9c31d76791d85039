import {z} from 'zod'
import {scenarioSchema} from './schema.js'
import {documentedUnionFor} from '../../config/shape-dispatch.js'

/**
 * The JSON Schema of scenario files, generated from the zod schema's input side (what users write).
 * scripts/generate-schemas.ts writes it to schemas/scenario.schema.json; a unit test keeps that file current.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, {
    io: 'input',
    unrepresentable: 'any',
    override(ctx) {
      const documented = documentedUnionFor(ctx.zodSchema)
      if (!documented) return
      const inner = z.toJSONSchema(documented, {io: 'input', unrepresentable: 'any'}) as Record<string, unknown>
      delete inner.$schema
      for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[k]
      Object.assign(ctx.jsonSchema, inner)
    },
  }) as Record<string, unknown>
  return {
    ...schema,
    $id: 'https://iotd.dev/schemas/scenario.schema.json',
    title: 'iotd scenario (version 1)',
    description: 'A fleet of simulated MQTT devices for `iotd sim`. Reference: docs/scenario-reference.md',
  }
}

export function scenarioJsonSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`
}
