import type {GeneratorSpec, GeneratorSpecOf} from './generator-schema.js'
import {compileExpression, parseExpression, type ExprScope, type ExprValue} from './expression.js'
import {GpsTracker, type GpsReading} from './gps.js'
import {clamp, decimalsOf, quantize, shapeReading} from './numeric.js'
import type {Rng} from './prng.js'

/**
 * One stateful generator per (device, field). Each gets its own seeded Rng and is stepped once per message,
 * in order, with the message's timestamp; parameters may change per device mode (`byMode`).
 */

export type FieldValue = number | string | boolean | GpsReading

export interface SampleContext {
  /** Message number: 0, 1, 2, ... */
  n: number
  tsMs: number
  /** Seconds since the previous message (0 for the first). */
  dtS: number
  /** Seconds since the first message. */
  elapsedS: number
  mode: string
}

export interface FieldGenerator {
  next(ctx: SampleContext, scope: ExprScope): FieldValue
  /** Bounds of a numeric field, for out-of-range anomalies. */
  readonly max?: number
  /** Quantisation of the field's values, so anomalies stay on the sensor's grid. */
  readonly resolution?: number
}

type Params<K extends GeneratorSpec['kind']> = Omit<GeneratorSpecOf<K>, 'kind' | 'byMode'>

/** Resolves a generator's parameters for a mode, merging byMode overrides once per mode. */
function modal<K extends GeneratorSpec['kind']>(spec: GeneratorSpecOf<K>): (mode: string) => Params<K> {
  const overrides = ('byMode' in spec ? spec.byMode : undefined) as Record<string, Partial<Params<K>>> | undefined
  const base = spec as unknown as Params<K>
  if (!overrides) return () => base
  const merged = new Map(Object.entries(overrides).map(([mode, o]) => [mode, {...base, ...o}]))
  return (mode) => merged.get(mode) ?? base
}

export interface GeneratorContext {
  rng: Rng
  /** Renders a constant string template with the device's vars. */
  renderConstant: (text: string) => string
}

export function createFieldGenerator(spec: GeneratorSpec, gctx: GeneratorContext): FieldGenerator {
  const {rng} = gctx
  switch (spec.kind) {
    case 'constant': {
      const params = modal(spec)
      const rendered = new Map<string, string>()
      const renderOnce = (text: string) => {
        let out = rendered.get(text)
        if (out === undefined) rendered.set(text, (out = gctx.renderConstant(text)))
        return out
      }
      return {
        next(ctx) {
          const v = params(ctx.mode).value
          return typeof v === 'string' ? renderOnce(v) : v
        },
      }
    }
    case 'pick': {
      const params = modal(spec)
      return {
        next(ctx) {
          const p = params(ctx.mode)
          if (!p.weights) return p.values[rng.int(p.values.length)]
          const total = p.weights.reduce((a, b) => a + b, 0)
          let u = rng.next() * total
          for (let i = 0; i < p.values.length; i++) {
            if (u < p.weights[i]) return p.values[i]
            u -= p.weights[i]
          }
          return p.values[p.values.length - 1]
        },
      }
    }
    case 'sequence': {
      const loop = spec.loop ?? true
      return {next: (ctx) => spec.values[loop ? ctx.n % spec.values.length : Math.min(ctx.n, spec.values.length - 1)]}
    }
    case 'counter':
      return counter(spec, rng)
    case 'uniform': {
      const params = modal(spec)
      return {
        resolution: spec.resolution,
        max: spec.max,
        next(ctx) {
          const p = params(ctx.mode)
          return shapeReading(p.min + (p.max - p.min) * rng.next(), p)
        },
      }
    }
    case 'gaussian': {
      const params = modal(spec)
      return {
        resolution: spec.resolution,
        max: spec.max,
        next(ctx) {
          const p = params(ctx.mode)
          return shapeReading(p.mean + p.stddev * rng.gaussian(), p)
        },
      }
    }
    case 'walk':
      return walk(spec, rng)
    case 'sine':
      return sine(spec, rng)
    case 'drift': {
      const params = modal(spec)
      let level = spec.start
      return {
        resolution: spec.resolution,
        max: spec.max,
        next(ctx) {
          const p = params(ctx.mode)
          level = clamp(level + (p.perHour * ctx.dtS) / 3600, p.min, p.max)
          const noise = p.noise ? p.noise * rng.gaussian() : 0
          return shapeReading(level + noise, p)
        },
      }
    }
    case 'step':
      return step(spec, rng)
    case 'timestamp': {
      const format = spec.format ?? 'epoch-ms'
      return {next: (ctx) => (format === 'iso' ? new Date(ctx.tsMs).toISOString() : format === 'epoch-s' ? Math.floor(ctx.tsMs / 1000) : ctx.tsMs)}
    }
    case 'uuid':
      return {next: () => uuidV4(rng)}
    case 'gps': {
      const params = modal(spec)
      const tracker = new GpsTracker(spec, rng)
      return {next: (ctx) => tracker.next(params(ctx.mode), ctx.dtS)}
    }
    case 'derived':
      return derived(spec)
    case 'mode':
      return {next: (ctx) => ctx.mode}
  }
}

function derived(spec: GeneratorSpecOf<'derived'>): FieldGenerator {
  const params = modal(spec)
  const compiled = new Map<string, ReturnType<typeof compileExpression>>()
  const compile = (expr: string) => {
    let fn = compiled.get(expr)
    if (!fn) compiled.set(expr, (fn = compileExpression(parseExpression(expr).ast)))
    return fn
  }
  // $prev is this field's own previous value before rounding (and before anomalies): an accumulator such as
  // `$prev + power * $dt / 3600` would otherwise lose every increment smaller than half the resolution.
  let prev: ExprValue = 0
  let fields: ExprScope = () => NaN
  const scope: ExprScope = (path) => (path === '$prev' ? prev : fields(path))
  return {
    resolution: spec.resolution,
    max: spec.max,
    next(ctx, deviceScope) {
      const p = params(ctx.mode)
      fields = deviceScope
      const v = compile(p.expr)(scope)
      if (typeof v !== 'number') return (prev = v)
      prev = clamp(v, p.min, p.max)
      return shapeReading(v, p)
    },
  }
}

/**
 * A counter counts start, start + step, ... and, with `wrap`, rolls over like a hardware register: on reaching
 * wrap it continues from start plus the overflow (step 30, wrap 100: 0, 30, 60, 90, 20), so wrap itself is never
 * emitted (a 16-bit register has wrap 65536). A counter that counts down rolls over the same way, at a wrap below start.
 */
function counter(spec: GeneratorSpecOf<'counter'>, rng: Rng): FieldGenerator {
  const start = spec.start ?? 0
  const step = spec.step ?? 1
  // Printed at the decimals of its parameters: exact for integers of any size, no float noise for 0.1 steps.
  const decimals = Math.max(decimalsOf(step), decimalsOf(start), spec.wrap === undefined ? 0 : decimalsOf(spec.wrap))
  const round = (x: number) => Number(x.toFixed(decimals))
  const span = spec.wrap === undefined ? 0 : spec.wrap - start
  const wraps = span !== 0 && Math.sign(span) === Math.sign(step)
  let k = 0
  return {
    next(ctx) {
      if (ctx.n > 0) {
        // A reset models a device reboot: the counter restarts, which consumers must handle.
        if (spec.resetProbability && rng.next() < spec.resetProbability) k = 0
        else k++
      }
      // k × step (not repeated addition) so fractional steps do not accumulate float error.
      let travelled = round(k * step)
      if (wraps) {
        // travelled and span have the same sign, so % keeps it; rounding can land exactly on span, which is start again.
        travelled = round(travelled % span)
        if (Math.abs(travelled) >= Math.abs(span)) travelled = round(travelled - span)
      }
      return round(start + travelled)
    },
  }
}

function walk(spec: GeneratorSpecOf<'walk'>, rng: Rng): FieldGenerator {
  const params = modal(spec)
  let x: number | undefined
  return {
    resolution: spec.resolution,
    max: spec.max,
    next(ctx) {
      const p = params(ctx.mode)
      if (x === undefined) {
        x = p.start ?? p.mean
      } else if (ctx.dtS > 0) {
        // Exact Ornstein–Uhlenbeck transition over dt, so irregular intervals keep the same statistics.
        if (p.theta > 0) {
          const decay = Math.exp(-p.theta * ctx.dtS)
          x = p.mean + (x - p.mean) * decay + p.sigma * Math.sqrt((1 - decay * decay) / (2 * p.theta)) * rng.gaussian()
        } else {
          x += p.sigma * Math.sqrt(ctx.dtS) * rng.gaussian()
        }
      }
      x = clamp(x, p.min, p.max)
      return shapeReading(x, p)
    },
  }
}

function sine(spec: GeneratorSpecOf<'sine'>, rng: Rng): FieldGenerator {
  const params = modal(spec)
  return {
    resolution: spec.resolution,
    max: spec.daily ? undefined : spec.max,
    next(ctx) {
      const p = params(ctx.mode)
      const mid = (p.min + p.max) / 2
      const amp = (p.max - p.min) / 2
      // Absolute time, so every device of a fleet follows the same cycle (phase shifts it).
      const angle = (2 * Math.PI * (ctx.tsMs + (p.phase ?? 0))) / p.period
      const noise = p.noise ? p.noise * rng.gaussian() : 0
      if (!p.daily) return quantize(clamp(mid + amp * Math.sin(angle) + noise, p.min, p.max), p.resolution)
      // With a daily profile the bounds scale with it. A negative min is lowest under the highest multiplier, so
      // each bound takes the more extreme of its two scalings.
      const v = (mid + amp * Math.sin(angle)) * dailyMultiplier(p.daily, ctx.tsMs) + noise
      const lo = Math.min(...p.daily)
      const hi = Math.max(...p.daily)
      return quantize(clamp(v, Math.min(p.min * lo, p.min * hi), Math.max(p.max * lo, p.max * hi)), p.resolution)
    },
  }
}

/** The daily profile at a UTC time, interpolated linearly between the hourly values. */
export function dailyMultiplier(daily: readonly number[], tsMs: number): number {
  const hour = (((tsMs / 3_600_000) % 24) + 24) % 24
  const i = Math.floor(hour)
  const f = hour - i
  return daily[i] * (1 - f) + daily[(i + 1) % 24] * f
}

function step(spec: GeneratorSpecOf<'step'>, rng: Rng): FieldGenerator {
  const params = modal(spec)
  let index = -1
  let changedAtMs = 0
  return {
    next(ctx) {
      const p = params(ctx.mode)
      const n = p.levels.length
      if (index < 0 || index >= n) {
        index = rng.int(n)
        changedAtMs = ctx.tsMs
      } else {
        const due = p.every !== undefined ? ctx.tsMs - changedAtMs >= p.every : rng.next() < (p.probability ?? 0)
        if (due && n > 1) {
          // Move to a different level: a step that stays put is not a step.
          index = (index + 1 + rng.int(n - 1)) % n
          changedAtMs = ctx.tsMs
        } else if (due) changedAtMs = ctx.tsMs
      }
      return p.levels[index]
    },
  }
}

/** A seeded RFC 4122 version-4 UUID. */
export function uuidV4(rng: Rng): string {
  const words = [rng.uint32(), rng.uint32(), rng.uint32(), rng.uint32()]
  words[1] = (words[1] & 0xffff0fff) | 0x00004000
  words[2] = (words[2] & 0x3fffffff) | 0x80000000
  const hex = words.map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
