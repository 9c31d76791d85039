import {parseTemplate, renderTemplate} from '../../config/template.js'
import {createFieldGenerator, type FieldValue} from './field-generators.js'
import type {GeneratorSpec} from './generator-schema.js'
import {createRng} from './prng.js'

/**
 * A device's params (scenario/params.ts declares and checks them): drawn once per device, and put into the fleet's
 * field generators where `{params.x}` references stood.
 */

/** A `"{params.name}"` that stands for a number in a field's generator (path below `fields:`). */
export interface ParamRef {
  path: Array<string | number>
  param: string
}

/** One device's params: each param's generator, seeded (seed, fleet, index, 'param', name), read once. */
export function drawParams(seed: number, fleet: string, index: number, params: Record<string, GeneratorSpec>, vars: Record<string, string>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {}
  for (const [name, spec] of Object.entries(params)) {
    const renderConstant = (text: string) => renderTemplate(parseTemplate(text, 'lenient'), (n) => vars[n])
    const generator = createFieldGenerator(spec, {rng: createRng([seed, fleet, index, 'param', name]), renderConstant})
    out[name] = generator.next({n: 0, tsMs: 0, dtS: 0, elapsedS: 0, mode: 'default'}, () => Number.NaN)
  }
  return out
}

/** The fleet's field generators with this device's param values where the references stood. */
export function withDeviceParams<F extends Record<string, unknown>>(fields: F, refs: readonly ParamRef[], params: Readonly<Record<string, FieldValue>>): F {
  if (refs.length === 0) return fields
  const out: Record<string, unknown> = {...fields}
  const copied = new Set<unknown>()
  for (const ref of refs) {
    // Copy each object on the path once, so the fleet's shared specs stay as they are.
    let node = out
    for (let k = 0; k < ref.path.length - 1; k++) {
      const key = ref.path[k]
      let child = node[key] as Record<string, unknown>
      if (!copied.has(child)) {
        child = {...child}
        copied.add(child)
        node[key] = child
      }
      node = child
    }
    node[ref.path[ref.path.length - 1]] = Number(params[ref.param])
  }
  return out as F
}
