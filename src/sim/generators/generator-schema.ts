import {z} from 'zod'
import {byShape} from '../../config/shape-dispatch.js'
import {duration, fraction} from '../../config/units-schema.js'
import {applyDefaults, type GeneratorKindSpec} from './generator-kind.js'
import {probability} from './param-types.js'
import {GENERATORS, NUMERIC_KINDS, type GeneratorSpec} from './registry.js'

export {GENERATOR_KINDS, NUMERIC_KINDS, type GeneratorKind, type GeneratorSpec, type GeneratorSpecOf} from './registry.js'

/**
 * The zod schema of a field, built from the generator kinds of the registry (registry.ts): each kind's parameter
 * shapes, its byMode overrides when it is modal (the fixed ones refused with the reason), and its own checks.
 */

/** The parameter shapes a byMode entry of `kind` accepts: all of them, optional, with the fixed ones refused. */
function byModeParams(kind: GeneratorKindSpec) {
  const fixed = Object.entries(kind.fixedInMode ?? {}).map(([name, why]) => [
    name,
    z.never({error: `${name} cannot change by mode: ${why}`}).optional().meta({description: `Cannot change by mode: ${why}.`}),
  ])
  return z.strictObject({...kind.params, ...Object.fromEntries(fixed)}).partial()
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

/** The base parameters, each default shown to editors in the JSON Schema (the values themselves are applied later). */
function baseParams(kind: GeneratorKindSpec): z.ZodRawShape {
  const defaults: Record<string, unknown> = kind.defaults ?? {}
  return Object.fromEntries(
    Object.entries(kind.params as Record<string, z.ZodType>).map(([name, schema]) => [name, name in defaults ? schema.meta({...schema.meta(), default: defaults[name]}) : schema]),
  )
}

function kindSchema(kind: GeneratorKindSpec) {
  const base = {kind: z.literal(kind.kind), ...baseParams(kind)}
  const shape = kind.modal
    ? {...base, byMode: z.record(z.string(), byModeParams(kind)).optional().meta({description: 'Parameter overrides while the device is in a mode: {idle: {mean: 35}}.'})}
    : base
  return z.strictObject(shape).superRefine((value, ctx) => {
    const v = value as RangeParams & {byMode?: Record<string, RangeParams>}
    checkParams(v, ctx, [])
    for (const [mode, override] of Object.entries(v.byMode ?? {})) checkParams({...v, ...override}, ctx, ['byMode', mode])
    kind.check?.(applyDefaults(kind, value as Record<string, unknown>), (message, path = []) => ctx.addIssue({code: 'custom', path, message}))
  })
}

const generatorUnion = z.discriminatedUnion('kind', GENERATORS.map((g) => kindSchema(g as unknown as GeneratorKindSpec)) as unknown as [ReturnType<typeof kindSchema>, ...Array<ReturnType<typeof kindSchema>>])

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

/**
 * `devices:` of an anomaly or fault: exactly this many devices of the fleet (a number), or exactly this share of
 * them, rounded (a percentage). The devices are chosen by seed (anomalies.ts, selectedDevices).
 */
export const deviceCountSchema = byShape(
  {
    number: z.number().int('devices must be a whole number (or a percentage such as 10%)').min(1, 'devices must be at least 1'),
    string: fraction({exclusiveMin: true}).transform((share) => ({share})),
  },
  'a number of devices (3) or an exact share (10%)',
)

export const anomalySchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'an anomaly name must be a word (letters, digits, _ and -), e.g. overheat')
      .optional()
      .meta({description: 'The name commands use to start and stop it (anomaly: {start: overheat}) and labels carry; default anomaly-N. Unique in its fleet.'}),
    field: z.string().optional().meta({description: 'The affected field (optional for dropout, which suppresses the whole message).'}),
    kind: z.enum(ANOMALY_KINDS),
    share: fraction({exclusiveMin: true}).optional().meta({description: 'Chance of each device to be one that can show this anomaly, e.g. 10% (decided per device by seed, so the number varies); devices: gives an exact number.'}),
    devices: deviceCountSchema.optional().meta({description: 'Exactly this many of the fleet\'s devices show this anomaly (3), or exactly this share of them, rounded (10%); chosen by seed.'}),
    probability: probability.optional().meta({description: 'Chance per message that the anomaly starts (when not already active).'}),
    schedule: z
      .strictObject({at: duration(), every: duration({positive: true}).optional()})
      .optional()
      .meta({description: 'Start at a fixed offset from the device\'s first message, optionally repeating.'}),
    duration: duration().optional().meta({description: 'How long it lasts (default 0: only the message where it starts).'}),
    magnitude: z.number().optional().meta({description: 'Size of the effect in the field\'s unit (spike/shift/drift offset, noise stddev, out-of-range distance).'}),
  })
  .superRefine((a, ctx) => {
    // Neither who nor when: it starts only when a command starts it (commands-checks.ts makes sure one does).
    const onCommandOnly = a.share === undefined && a.devices === undefined && a.probability === undefined && a.schedule === undefined
    if (!onCommandOnly && (a.share === undefined) === (a.devices === undefined)) {
      ctx.addIssue({code: 'custom', path: [], message: `anomaly ${a.kind} needs exactly one of share (a chance per device) or devices (an exact number or share)`})
    }
    if (!onCommandOnly && (a.probability === undefined) === (a.schedule === undefined)) {
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

/**
 * Whether a field or param of this spec is a number on every device and at every step (a text pick, uuid or timestamp
 * is not). Takes a parsed spec or a raw one from the file (a bare number), as scenario/params.ts reads them before the schema.
 */
export function alwaysNumber(spec: unknown): boolean {
  if (typeof spec === 'number') return true
  if (spec === null || typeof spec !== 'object') return false
  const o = spec as {kind?: unknown; value?: unknown; values?: unknown}
  if (o.kind === 'constant') return typeof o.value === 'number'
  if (o.kind === 'pick') return Array.isArray(o.values) && o.values.every((v) => typeof v === 'number')
  return typeof o.kind === 'string' && NUMERIC_KINDS.has(o.kind as GeneratorSpec['kind'])
}
