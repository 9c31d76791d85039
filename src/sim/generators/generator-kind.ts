import type {z} from 'zod'
import type {ExprScope} from './expression.js'
import type {GpsReading} from './gps.js'
import type {Rng} from './prng.js'

/**
 * What one generator kind declares, in one file under kinds/: its parameters (zod shapes with descriptions) and
 * their defaults (written once, applied before `check` and `create`), whether its values are numbers and whether its parameters may change per device mode, the
 * reference text, and `create`, the stateful generator of one (device, field). The schema, the scenario checks and
 * docs/scenario-reference.md read the kinds from the registry (registry.ts).
 */

export type FieldValue = number | string | boolean | GpsReading

export interface SampleContext {
  /** Message number: 0, 1, 2, ... */
  n: number
  tsMs: number
  /** tsMs shifted to the fleet's local wall clock (its `timezone`; equal to tsMs in UTC): daily profiles read it. */
  localMs?: number
  /** Seconds since the previous message (0 for the first). */
  dtS: number
  /** Seconds since the first message. */
  elapsedS: number
  mode: string
}

export interface FieldGenerator {
  next(ctx: SampleContext, scope: ExprScope): FieldValue
  /**
   * Its value is a function of the mode alone (no state, no randomness), so it may be asked for a mode between
   * messages without changing the stream: a reply after a mode command shows it in the new mode.
   */
  readonly modeOnly?: boolean
  /** Bounds of a numeric field, for out-of-range anomalies. */
  readonly max?: number
  /** Quantisation of the field's values, so anomalies stay on the sensor's grid. */
  readonly resolution?: number
}

export interface GeneratorContext {
  rng: Rng
  /** Renders a constant string template with the device's vars. */
  renderConstant: (text: string) => string
}

/** The parameters of a kind as the generator receives them (kinds without parameters: none). */
export type ParamsOf<S extends z.ZodRawShape> = keyof S extends never ? object : z.output<z.ZodObject<S>>

/** A field's generator of kind K, as the scenario loader produces it. */
export type GeneratorSpecFrom<K extends string, S extends z.ZodRawShape> = {kind: K; byMode?: Record<string, Partial<ParamsOf<S>>>} & ParamsOf<S>

/** Values for some of a kind's optional parameters. */
export type DefaultsOf<S extends z.ZodRawShape> = Partial<ParamsOf<S>>

/** Parameters with the kind's defaults filled in: what `check` and `create` receive. */
export type WithDefaults<P, D> = P & {[N in keyof D & keyof P]-?: Exclude<P[N], undefined>}

export interface GeneratorKindSpec<K extends string = string, S extends z.ZodRawShape = z.ZodRawShape, D extends DefaultsOf<S> = DefaultsOf<S>> {
  kind: K
  /** Markdown for the reference: what it produces and how its parameters act. */
  doc: string
  /** YAML lines under `fields:` for the reference's example (a complete scenario is built around them). */
  example: string
  params: S
  /**
   * The values of optional parameters a scenario leaves out, written once: {@link applyDefaults} fills them in
   * before `check` and `create` see the parameters, and the reference states them.
   */
  defaults?: D
  /** Its values are numbers (anomalies other than stuck/dropout need such a field). */
  numeric?: boolean
  /** Its parameters may change per device mode (`byMode`). */
  modal?: boolean
  /** Parameters read once at creation, refused in byMode with the reason. */
  fixedInMode?: Readonly<Record<string, string>>
  /** Its value is an object with these keys (expressions read `field.key`). */
  objectKeys?: readonly string[]
  /** Checks over several parameters at once (beyond the shared min <= max and weights checks). */
  check?(params: WithDefaults<Partial<ParamsOf<S>>, D>, issue: (message: string, path?: PropertyKey[]) => void): void
  create(spec: WithDefaults<GeneratorSpecFrom<K, S>, D>, ctx: GeneratorContext): FieldGenerator
}

export function defineGenerator<K extends string, S extends z.ZodRawShape, const D extends DefaultsOf<S> = object>(spec: GeneratorKindSpec<K, S, D>): GeneratorKindSpec<K, S, D> {
  return spec
}

/**
 * A kind's parameters with its defaults in the places the scenario left empty (byMode overrides stay as written:
 * they are merged over these base parameters per mode).
 */
export function applyDefaults<P extends object>(kind: Pick<GeneratorKindSpec, 'defaults'>, params: P): P {
  if (!kind.defaults) return params
  const out = {...params} as Record<string, unknown>
  for (const [name, value] of Object.entries(kind.defaults)) if (out[name] === undefined) out[name] = value
  return out as P
}

/**
 * Resolves a generator's parameters for a mode, merging byMode overrides once per mode. The overrides set only the
 * parameters they name (the schema leaves the others out), so a default of the base parameters holds in every mode.
 */
export function modal<P extends {byMode?: Record<string, object>}>(spec: P): (mode: string) => P {
  const overrides = spec.byMode
  const base = spec
  if (!overrides) return () => base
  const merged = new Map(Object.entries(overrides).map(([mode, o]) => [mode, {...base, ...o}]))
  return (mode) => merged.get(mode) ?? base
}
