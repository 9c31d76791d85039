import {z} from 'zod'
import {parseDuration, parseRate, parseSize} from './units.js'

/**
 * zod types for the units users write in config files (scenarios, pipelines, bench profiles), the one place such a
 * type is defined. Each accepts what people type (`30s`, `500/s`, `10%`)
 * and yields plain numbers (ms, per second, fractions 0..1), so nothing downstream parses strings again.
 * The JSON Schema is generated from the input side (io: 'input'), so editors see string | number.
 */

/**
 * What editors check before iotd does: the JSON Schema carries each unit's written form as a pattern (the number
 * form with its range), so `every: -1s` or `share: 150%` is underlined as it is typed. Kept beside the parsers
 * they mirror (config/units.ts); a test validates the shipped scenarios and the refused forms with a JSON Schema
 * validator.
 */
const DURATION_TEXT = '^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?\\s*(ns|us|µs|ms|s|m|h|d))+)\\s*$'
const PERCENT_TEXT = '^\\s*(100(\\.0+)?|\\d{1,2}(\\.\\d+)?)\\s*%\\s*$'
const UNIT_FRACTION_TEXT = '^\\s*(0(\\.\\d+)?|1(\\.0+)?|\\.\\d+)\\s*$'

function durationJsonSchema(positive: boolean) {
  return {anyOf: [{type: 'string', pattern: DURATION_TEXT}, positive ? {type: 'number', exclusiveMinimum: 0} : {type: 'number', minimum: 0}]}
}

function fractionJsonSchema(max: number) {
  // Up to 100% (or 1) the text forms have a pattern; a larger maximum is checked on numbers only.
  return max === 1
    ? {anyOf: [{type: 'string', pattern: PERCENT_TEXT}, {type: 'string', pattern: UNIT_FRACTION_TEXT}, {type: 'number', minimum: 0, maximum: 1}]}
    : {anyOf: [{type: 'string'}, {type: 'number', minimum: 0, maximum: max}]}
}

/** Topic templates (MQTT topics to publish): no wildcard, no NUL, not empty. */
export const TOPIC_TEMPLATE_JSON_SCHEMA = {pattern: '^[^+#\\u0000]+$'}

function failure(ctx: {addIssue: (issue: {code: 'custom'; message: string; input: unknown}) => void}, input: unknown, message: string): never {
  ctx.addIssue({code: 'custom', message, input})
  return z.NEVER
}

/**
 * The one shape of a unit type: text or a bare number read by the unit's parser, whose message is the validation
 * error; `check` refuses a parsed value with a message of its own.
 */
function parsedUnit(parse: (value: string | number) => number, meta: {description: string} & Record<string, unknown>, check?: (n: number, value: string | number) => string | undefined) {
  return z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      let n: number
      try {
        n = parse(value)
      } catch (error) {
        return failure(ctx, value, (error as Error).message)
      }
      const refused = check?.(n, value)
      return refused === undefined ? n : failure(ctx, value, refused)
    })
    .meta(meta)
}

/** A duration (`500ms`, `30s`, `5m`, `1h30m`; a bare number is ms) → milliseconds. */
export function duration(options: {positive?: boolean} = {}) {
  return parsedUnit(
    parseDuration,
    {description: 'A duration such as 500ms, 30s, 5m, 1h30m (a bare number is milliseconds).', ...durationJsonSchema(options.positive === true)},
    (ms, value) => (options.positive && ms <= 0 ? `duration must be greater than zero, got "${value}"` : undefined),
  )
}

/** A rate (`1000/s`, `60/m`; a bare number is per second) → events per second. */
export function rate() {
  return parsedUnit(parseRate, {description: 'A rate such as 500/s or 60/m (a bare number is per second).'})
}

/** A size (`100B`, `4KiB`, `100MiB`; a bare number is bytes) → bytes. */
export function size() {
  return parsedUnit(parseSize, {description: 'A size such as 100B, 4KiB or 100MiB (a bare number is bytes).'})
}

/** Parses `10%` or a fraction `0.1` to a fraction; undefined when the text is not one. */
function parseFraction(value: string | number): number | undefined {
  if (typeof value === 'number') return value
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value)
  if (m) return Number(m[1]) / 100
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return Number(value)
  return undefined
}

/**
 * A share: `10%` or a fraction `0.1` → 0.1. `exclusiveMin` makes 0 invalid (a share of nothing is a mistake).
 */
export function fraction(options: {exclusiveMin?: boolean; max?: number} = {}) {
  const max = options.max ?? 1
  return z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const f = parseFraction(value)
      if (f === undefined || Number.isNaN(f)) return failure(ctx, value, `"${value}" is not a percentage (try 10% or 0.1)`)
      const range = `${options.exclusiveMin ? '(0' : '[0'}, ${max * 100}%]`
      if (f < 0 || (options.exclusiveMin && f === 0) || f > max) return failure(ctx, value, `${value} is outside ${range}`)
      return f
    })
    .meta({description: 'A percentage such as 10% (or a fraction such as 0.1).', ...fractionJsonSchema(max)})
}

/** Jitter: an absolute duration or a percentage of the interval. */
export type JitterSpec = {ms: number} | {ofEvery: number}

export function jitter() {
  return z
    .union([z.string(), z.number()])
    .transform((value, ctx): JitterSpec => {
      if (typeof value === 'string' && value.trim().endsWith('%')) {
        const f = parseFraction(value)
        if (f === undefined) return failure(ctx, value, `"${value}" is not a percentage`)
        return {ofEvery: f}
      }
      try {
        return {ms: parseDuration(value)}
      } catch (error) {
        return failure(ctx, value, `${(error as Error).message}, or a percentage of every such as 5%`)
      }
    })
    .meta({description: 'Random offset of each message: a duration (200ms) or a percentage of `every` (5%). Must be below half of `every`.'})
}

/**
 * An MQTT protocol version: '3.1.1' or '5', where 5 may be written as a number, as the docs and brokers write it
 * (`protocol: 5`). Always read as text.
 */
export function mqttProtocol() {
  return z
    .union([z.enum(['3.1.1', '5']), z.literal(5)])
    .transform((v) => String(v) as '3.1.1' | '5')
}
