/**
 * The JSON Schema of pipeline files (schemas/pipeline.schema.json), generated from the zod schemas: the file's own
 * keys plus, for every registered source and sink kind, its options next to the common keys. Editors then complete
 * `type:` and each kind's options. scripts/generate-pipeline-schema.ts writes it; a unit test keeps it current.
 */
import {z} from 'zod'
import {SINK_SPECS, SOURCE_SPECS} from '../registry.js'
import {pipelineSchema, ruleSchema, sinkCommonShape, sourceCommonShape} from './schema.js'

function entryUnion(specs: readonly {type: string; summary: string; options: z.ZodType}[], common: Record<string, z.ZodType>) {
  const variants = specs.map((spec) => {
    const shape = spec.options instanceof z.ZodObject ? (spec.options.shape as Record<string, z.ZodType>) : {}
    return z.strictObject({...common, ...shape, type: z.literal(spec.type)}).meta({title: spec.type, description: spec.summary})
  })
  return variants.length === 1 ? variants[0] : z.union(variants as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]])
}

export function pipelineJsonSchema(): Record<string, unknown> {
  const sources = entryUnion(SOURCE_SPECS, sourceCommonShape)
  const sinks = entryUnion(SINK_SPECS, sinkCommonShape)
  const full = pipelineSchema.extend({
    sources: z.record(z.string(), sources),
    rules: z.array(ruleSchema.extend({sinks: z.array(sinks).optional()})).min(1),
  })
  const schema = z.toJSONSchema(full, {io: 'input', unrepresentable: 'any'}) as Record<string, unknown>
  return {
    ...schema,
    $id: 'https://iotd.dev/schemas/pipeline.schema.json',
    title: 'iotd pipeline (version 1)',
    description: 'Sources, lookup tables, SQL rules with windows, and sinks for `iotd pipeline run`. Reference: docs/pipeline-reference.md',
  }
}

export function pipelineJsonSchemaText(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`
}
