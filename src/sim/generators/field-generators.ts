import {applyDefaults, type FieldGenerator, type GeneratorContext} from './generator-kind.js'
import {generatorKind, type GeneratorSpec} from './registry.js'

/**
 * One stateful generator per (device, field), made by the field's kind (kinds/, listed in registry.ts). Each gets
 * its own seeded Rng and is stepped once per message, in order, with the message's timestamp; parameters may change
 * per device mode (`byMode`).
 */
export type {FieldGenerator, FieldValue, GeneratorContext, SampleContext} from './generator-kind.js'

export function createFieldGenerator(spec: GeneratorSpec, gctx: GeneratorContext): FieldGenerator {
  const kind = generatorKind(spec.kind)
  // The schema admits only registered kinds; a spec built in code with another kind is a programming error.
  if (!kind) throw new Error(`no generator kind "${spec.kind}"`)
  return kind.create(applyDefaults(kind, spec) as never, gctx)
}
