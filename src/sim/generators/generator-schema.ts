import {z} from 'zod'
import {byShape} from '../../config/shape-dispatch.js'
import {duration, fraction} from '../../config/units-schema.js'

/**
 * The value generators a field can use (`kind:`), one zod schema each. Parameters carry no zod defaults
 * (defaults live in the generator implementations and the reference docs) so `byMode` overrides can reuse
 * the same parameter shapes as partial objects without defaults leaking into them.
 */

const scalar = z.union([z.string(), z.number(), z.boolean()])
const resolution = z.number().positive('resolution must be greater than zero').optional().meta({description: 'Quantisation step of the sensor, e.g. 0.1; values are rounded to it and printed with its decimals.'})
const probability = z.number().min(0, 'a probability must be between 0 and 1').max(1, 'a probability must be between 0 and 1')
const nonNegative = (name: string) => z.number().min(0, `${name} must be >= 0`)
const latitude = z.number().min(-90, 'latitude must be in [-90, 90]').max(90, 'latitude must be in [-90, 90]')
const longitude = z.number().min(-180, 'longitude must be in [-180, 180]').max(180, 'longitude must be in [-180, 180]')

/** Parameter shapes per kind (everything except `kind` and `byMode`). */
const PARAMS = {
  constant: {value: scalar},
  pick: {values: z.array(scalar).min(1, 'values needs at least one value'), weights: z.array(nonNegative('a weight')).optional()},
  sequence: {values: z.array(scalar).min(1, 'values needs at least one value'), loop: z.boolean().optional()},
  counter: {start: z.number().optional(), step: z.number().optional(), wrap: z.number().optional(), resetProbability: probability.optional()},
  uniform: {min: z.number(), max: z.number(), resolution},
  gaussian: {mean: z.number(), stddev: nonNegative('stddev'), min: z.number().optional(), max: z.number().optional(), resolution},
  walk: {
    mean: z.number(),
    theta: nonNegative('theta').meta({description: 'Mean-reversion rate per second (0 = a plain random walk).'}),
    sigma: nonNegative('sigma').meta({description: 'Volatility per square-root second.'}),
    start: z.number().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    resolution,
  },
  sine: {
    min: z.number(),
    max: z.number(),
    period: duration({positive: true}),
    phase: duration().optional(),
    noise: nonNegative('noise').optional(),
    daily: z.array(nonNegative('a daily multiplier')).length(24, 'daily needs 24 hourly multipliers (00:00..23:00 UTC)').optional(),
    resolution,
  },
  drift: {start: z.number(), perHour: z.number(), min: z.number().optional(), max: z.number().optional(), noise: nonNegative('noise').optional(), resolution},
  step: {levels: z.array(scalar).min(1, 'levels needs at least one level'), every: duration({positive: true}).optional(), probability: probability.optional()},
  timestamp: {format: z.enum(['epoch-ms', 'epoch-s', 'iso']).optional()},
  uuid: {},
  gps: {
    route: z.array(z.tuple([latitude, longitude])).min(2, 'a route needs at least two [lat, lon] points'),
    speedKmh: nonNegative('speedKmh'),
    loop: z.boolean().optional(),
    jitterM: nonNegative('jitterM').optional(),
  },
  derived: {expr: z.string().min(1, 'expr is empty'), min: z.number().optional(), max: z.number().optional(), resolution},
  mode: {},
} as const

export type GeneratorKind = keyof typeof PARAMS
export const GENERATOR_KINDS = Object.keys(PARAMS) as GeneratorKind[]

/** Kinds whose values are numbers (anomalies other than stuck/dropout need one of these). */
export const NUMERIC_KINDS: ReadonlySet<GeneratorKind> = new Set(['counter', 'uniform', 'gaussian', 'walk', 'sine', 'drift', 'derived'])

/** Kinds whose parameters may change per device mode. */
const MODAL_KINDS: ReadonlySet<GeneratorKind> = new Set(['constant', 'pick', 'uniform', 'gaussian', 'walk', 'sine', 'drift', 'step', 'gps', 'derived'])

/**
 * Parameters a generator reads once, when it is created, so a byMode override of them would be silently ignored;
 * they are rejected in byMode with the reason.
 */
const FIXED_PARAMS: Partial<Record<GeneratorKind, Record<string, string>>> = {
  gps: {
    route: 'a vehicle keeps one route (byMode may change speedKmh and jitterM)',
    loop: 'a vehicle keeps one route (byMode may change speedKmh and jitterM)',
  },
  drift: {start: 'it is only the initial level (change perHour or the bounds instead)'},
}

/** The parameter shapes a byMode entry of `kind` accepts: all of them, optional, with the fixed ones refused. */
function byModeParams(kind: GeneratorKind) {
  const fixed = Object.entries(FIXED_PARAMS[kind] ?? {}).map(([name, why]) => [
    name,
    z.never({error: `${name} cannot change by mode: ${why}`}).optional().meta({description: `Cannot change by mode: ${why}.`}),
  ])
  return z.strictObject({...PARAMS[kind], ...Object.fromEntries(fixed)}).partial()
}

interface RangeParams {
  min?: number
  max?: number
  weights?: number[]
  values?: unknown[]
}

/** Checks that need several parameters at once; applied to the base parameters and to each byMode merge. */
function checkParams(params: RangeParams, ctx: z.RefinementCtx, path: PropertyKey[]): void {
  if (params.min !== undefined && params.max !== undefined && params.min > params.max) {
    ctx.addIssue({code: 'custom', path: [...path, 'min'], message: `min (${params.min}) is greater than max (${params.max})`})
  }
  if (params.weights && params.values && params.weights.length !== params.values.length) {
    ctx.addIssue({code: 'custom', path: [...path, 'weights'], message: `weights has ${params.weights.length} entries but values has ${params.values.length}`})
  } else if (params.weights && params.weights.every((w) => w === 0)) {
    ctx.addIssue({code: 'custom', path: [...path, 'weights'], message: 'weights are all zero'})
  }
}

function kindSchema<K extends GeneratorKind>(kind: K) {
  const params = PARAMS[kind]
  const base = {kind: z.literal(kind), ...params}
  const shape = MODAL_KINDS.has(kind)
    ? {...base, byMode: z.record(z.string(), byModeParams(kind)).optional().meta({description: 'Parameter overrides while the device is in a mode: {idle: {mean: 35}}.'})}
    : base
  return z.strictObject(shape as typeof base & {byMode?: z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodObject>>}).superRefine((value, ctx) => {
    const v = value as RangeParams & {byMode?: Record<string, RangeParams>; every?: number; probability?: number; start?: number; wrap?: number; step?: number}
    checkParams(v, ctx, [])
    for (const [mode, override] of Object.entries(v.byMode ?? {})) checkParams({...v, ...override}, ctx, ['byMode', mode])
    if (kind === 'step' && (v.every === undefined) === (v.probability === undefined)) {
      ctx.addIssue({code: 'custom', path: [], message: 'a step generator needs exactly one of every or probability'})
    }
    // A counter rolls over when it reaches wrap, so wrap must lie ahead of start in the direction it counts.
    if (kind === 'counter' && v.wrap !== undefined && v.wrap <= (v.start ?? 0) && (v.step ?? 1) > 0) {
      ctx.addIssue({code: 'custom', path: ['wrap'], message: `wrap (${v.wrap}) must be greater than start (${v.start ?? 0})`})
    }
    if (kind === 'counter' && v.wrap !== undefined && v.wrap >= (v.start ?? 0) && (v.step ?? 1) < 0) {
      ctx.addIssue({code: 'custom', path: ['wrap'], message: `wrap (${v.wrap}) must be less than start (${v.start ?? 0}) for a counter that counts down`})
    }
  })
}

const generatorUnion = z.discriminatedUnion(
  'kind',
  GENERATOR_KINDS.map((k) => kindSchema(k)) as unknown as [ReturnType<typeof kindSchema<'constant'>>, ...Array<ReturnType<typeof kindSchema<GeneratorKind>>>],
)

type AnyKindOutput = {[K in GeneratorKind]: {kind: K; byMode?: Record<string, Partial<ParamsOutput<K>>>} & ParamsOutput<K>}[GeneratorKind]
// Kinds without parameters (uuid, mode) would otherwise infer Record<string, never>, which swallows `kind`.
type ParamsOutput<K extends GeneratorKind> = keyof (typeof PARAMS)[K] extends never ? object : z.output<z.ZodObject<(typeof PARAMS)[K]>>

/** A field's generator, as the device model receives it. Bare scalars arrive as {kind: 'constant'}. */
export type GeneratorSpec = AnyKindOutput
export type GeneratorSpecOf<K extends GeneratorKind> = Extract<GeneratorSpec, {kind: K}>

/** A field: a bare scalar (a constant; strings are templates) or a generator object with `kind`. */
export const fieldSchema = byShape(
  {
    string: z.string().transform((value): GeneratorSpec => ({kind: 'constant', value})),
    number: z.number().transform((value): GeneratorSpec => ({kind: 'constant', value})),
    boolean: z.boolean().transform((value): GeneratorSpec => ({kind: 'constant', value})),
    object: generatorUnion.transform((g) => g as unknown as GeneratorSpec),
  },
  'a constant (string, number, boolean) or a generator object with kind',
)

export const ANOMALY_KINDS = ['spike', 'stuck', 'dropout', 'drift', 'shift', 'noise', 'out-of-range'] as const
export type AnomalyKind = (typeof ANOMALY_KINDS)[number]

export const anomalySchema = z
  .strictObject({
    field: z.string().optional().meta({description: 'The affected field (optional for dropout, which suppresses the whole message).'}),
    kind: z.enum(ANOMALY_KINDS),
    share: fraction({exclusiveMin: true}).meta({description: 'Share of the fleet\'s devices that can show this anomaly, e.g. 10% (chosen by seed).'}),
    probability: probability.optional().meta({description: 'Chance per message that the anomaly starts (when not already active).'}),
    schedule: z
      .strictObject({at: duration(), every: duration({positive: true}).optional()})
      .optional()
      .meta({description: 'Start at a fixed offset from the device\'s first message, optionally repeating.'}),
    duration: duration().optional().meta({description: 'How long it lasts (default 0: only the message where it starts).'}),
    magnitude: z.number().optional().meta({description: 'Size of the effect in the field\'s unit (spike/shift/drift offset, noise stddev, out-of-range distance).'}),
  })
  .superRefine((a, ctx) => {
    if ((a.probability === undefined) === (a.schedule === undefined)) {
      ctx.addIssue({code: 'custom', path: [], message: `anomaly ${a.kind} needs exactly one of probability or schedule`})
    }
    if (a.kind !== 'dropout' && a.kind !== 'stuck' && a.magnitude === undefined) {
      ctx.addIssue({code: 'custom', path: [], message: `anomaly ${a.kind} needs a magnitude (its size in the field's unit)`})
    }
    if (a.kind !== 'dropout' && a.field === undefined) {
      ctx.addIssue({code: 'custom', path: ['field'], message: `missing required key "field" (anomaly ${a.kind} changes one field)`})
    }
  })
  .transform((a) => ({...a, duration: a.duration ?? 0}))

export type AnomalySpec = z.output<typeof anomalySchema>
