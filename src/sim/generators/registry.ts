/**
 * The generator kinds a field can use (`kind:`), one line each. A kind is one file in kinds/ (see
 * generator-kind.ts): adding one is that file and a line here; the scenario schema, the checks, createFieldGenerator
 * and docs/scenario-reference.md (scripts/generate-scenario-reference.ts) read this list.
 */
import {constantGenerator} from './kinds/constant.js'
import {counterGenerator} from './kinds/counter.js'
import {derivedGenerator} from './kinds/derived.js'
import {driftGenerator} from './kinds/drift.js'
import {gaussianGenerator} from './kinds/gaussian.js'
import {gpsGenerator} from './kinds/gps.js'
import {modeGenerator} from './kinds/mode.js'
import {pickGenerator} from './kinds/pick.js'
import {sequenceGenerator} from './kinds/sequence.js'
import {sineGenerator} from './kinds/sine.js'
import {stepGenerator} from './kinds/step.js'
import {timestampGenerator} from './kinds/timestamp.js'
import {uniformGenerator} from './kinds/uniform.js'
import {uuidGenerator} from './kinds/uuid.js'
import {walkGenerator} from './kinds/walk.js'
import type {GeneratorKindSpec, GeneratorSpecFrom} from './generator-kind.js'

/** In the reference's order. */
export const GENERATORS = [
  constantGenerator,
  pickGenerator,
  sequenceGenerator,
  counterGenerator,
  uniformGenerator,
  gaussianGenerator,
  walkGenerator,
  sineGenerator,
  driftGenerator,
  stepGenerator,
  timestampGenerator,
  uuidGenerator,
  gpsGenerator,
  derivedGenerator,
  modeGenerator,
] as const

type Generators = (typeof GENERATORS)[number]

/** A field's generator, as the device model receives it. Bare scalars arrive as {kind: 'constant'}. */
export type GeneratorSpec = {[G in Generators as G['kind']]: G extends GeneratorKindSpec<infer K, infer S, infer _D> ? GeneratorSpecFrom<K, S> : never}[Generators['kind']]
export type GeneratorKind = GeneratorSpec['kind']
export type GeneratorSpecOf<K extends GeneratorKind> = Extract<GeneratorSpec, {kind: K}>

const BY_KIND = new Map<string, GeneratorKindSpec>(GENERATORS.map((g) => [g.kind, g as unknown as GeneratorKindSpec]))

export function generatorKind(kind: string): GeneratorKindSpec | undefined {
  return BY_KIND.get(kind)
}

export const GENERATOR_KINDS = GENERATORS.map((g) => g.kind) as GeneratorKind[]

/** Kinds whose values are numbers (anomalies other than stuck/dropout need one of these). */
export const NUMERIC_KINDS: ReadonlySet<GeneratorKind> = new Set(GENERATORS.filter((g) => 'numeric' in g && g.numeric).map((g) => g.kind))

/** Kinds whose value is an object, with its keys (expressions read `position.speed`). */
export const OBJECT_FIELD_KEYS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  GENERATORS.flatMap((g) => ('objectKeys' in g && g.objectKeys ? [[g.kind, g.objectKeys]] : [])),
)
