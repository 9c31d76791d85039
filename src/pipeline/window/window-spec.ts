/**
 * Window specifications: the five kinds of the eKuiper dialect, their SQL time units, and the translation of a
 * `GROUP BY` window call (`TUMBLINGWINDOW(ss, 10)`) into a validated spec in milliseconds.
 */
import {UsageError} from '../../errors.js'

/** SQL time units in milliseconds. */
export const TIME_UNIT_MS = {
  DD: 86_400_000,
  HH: 3_600_000,
  MI: 60_000,
  SS: 1000,
  MS: 1,
} as const

export type TimeUnit = keyof typeof TIME_UNIT_MS

export type WindowSpec =
  | {kind: 'tumbling'; sizeMs: number}
  | {kind: 'hopping'; sizeMs: number; hopMs: number}
  | {kind: 'sliding'; sizeMs: number; delayMs: number}
  | {kind: 'session'; maxDurationMs: number; timeoutMs: number}
  | {kind: 'count'; size: number; hop: number}

export type WindowKind = WindowSpec['kind']

/** Milliseconds in one SQL time unit; case-insensitive (`ss`, `SS`). */
export function timeUnitMs(unit: string): number {
  const ms = (TIME_UNIT_MS as Record<string, number>)[unit.toUpperCase()]
  if (ms === undefined) {
    throw new UsageError(`"${unit}" is not a window time unit`, [`use one of ${Object.keys(TIME_UNIT_MS).join(', ')}`])
  }
  return ms
}

const CALLS: Record<string, WindowKind> = {
  TUMBLINGWINDOW: 'tumbling',
  HOPPINGWINDOW: 'hopping',
  SLIDINGWINDOW: 'sliding',
  SESSIONWINDOW: 'session',
  COUNTWINDOW: 'count',
}

/** Whether a function name is one of the window calls allowed in GROUP BY. */
export function isWindowCall(name: string): boolean {
  return CALLS[name.toUpperCase()] !== undefined
}

/**
 * Builds a spec from a window call as written in SQL: `TUMBLINGWINDOW(ss, 10)`, `HOPPINGWINDOW(ss, 10, 5)`,
 * `SLIDINGWINDOW(ss, 10[, delay])`, `SESSIONWINDOW(ss, maxDuration, timeout)`, `COUNTWINDOW(n[, m])`.
 * Throws UsageError with one sentence naming the call and the argument at fault.
 */
export function windowSpecFromCall(name: string, args: readonly (string | number)[]): WindowSpec {
  const call = name.toUpperCase()
  const kind = CALLS[call]
  if (kind === undefined) throw new UsageError(`${name} is not a window function`)
  const arity = (min: number, max: number, shape: string): void => {
    if (args.length < min || args.length > max) {
      throw new UsageError(`${call} takes ${shape}, got ${args.length} argument${args.length === 1 ? '' : 's'}`)
    }
  }
  const num = (i: number, what: string): number => {
    const v = args[i]
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new UsageError(`${call}: ${what} must be a number, got ${String(v)}`)
    return v
  }
  const unit = (): number => {
    const u = args[0]
    if (typeof u !== 'string') throw new UsageError(`${call}: the first argument must be a time unit (DD, HH, MI, SS, MS)`)
    return timeUnitMs(u)
  }
  let spec: WindowSpec
  switch (kind) {
    case 'tumbling': {
      arity(2, 2, '(unit, size)')
      const u = unit()
      spec = {kind, sizeMs: num(1, 'size') * u}
      break
    }
    case 'hopping': {
      arity(3, 3, '(unit, size, hop)')
      const u = unit()
      spec = {kind, sizeMs: num(1, 'size') * u, hopMs: num(2, 'hop') * u}
      break
    }
    case 'sliding': {
      arity(2, 3, '(unit, size[, delay])')
      const u = unit()
      spec = {kind, sizeMs: num(1, 'size') * u, delayMs: args.length > 2 ? num(2, 'delay') * u : 0}
      break
    }
    case 'session': {
      arity(3, 3, '(unit, maxDuration, timeout)')
      const u = unit()
      spec = {kind, maxDurationMs: num(1, 'maxDuration') * u, timeoutMs: num(2, 'timeout') * u}
      break
    }
    case 'count': {
      arity(1, 2, '(n[, m])')
      const n = num(0, 'n')
      spec = {kind, size: n, hop: args.length > 1 ? num(1, 'm') : n}
      break
    }
  }
  return validateWindowSpec(spec)
}

/** Checks the ranges of a spec (also for specs built in code); returns it unchanged or throws UsageError. */
export function validateWindowSpec(spec: WindowSpec): WindowSpec {
  const positive = (v: number, what: string): void => {
    if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${spec.kind} window: ${what} must be greater than 0, got ${v}`)
  }
  const nonNegative = (v: number, what: string): void => {
    if (!(v >= 0) || !Number.isFinite(v)) throw new UsageError(`${spec.kind} window: ${what} must be 0 or more, got ${v}`)
  }
  const wholePositive = (v: number, what: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`count window: ${what} must be a whole number of at least 1, got ${v}`)
  }
  switch (spec.kind) {
    case 'tumbling':
      positive(spec.sizeMs, 'size')
      break
    case 'hopping':
      positive(spec.sizeMs, 'size')
      positive(spec.hopMs, 'hop')
      break
    case 'sliding':
      positive(spec.sizeMs, 'size')
      nonNegative(spec.delayMs, 'delay')
      break
    case 'session':
      positive(spec.maxDurationMs, 'maxDuration')
      nonNegative(spec.timeoutMs, 'timeout')
      break
    case 'count':
      wholePositive(spec.size, 'n')
      wholePositive(spec.hop, 'm')
      break
  }
  return spec
}
