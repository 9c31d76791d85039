/** Math functions. Non-numeric arguments and non-finite results (sqrt(-1), ln(0)) give null. */
import {finiteOrNull} from '../values.js'
import {asInteger, asNumber, num} from './define.js'
import type {ScalarFunctionSpec} from './types.js'

function unary(name: string, summary: string, fn: (x: number) => number): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary, params: [num()], required: 1,
    impl: (a) => {
      const x = asNumber(a[0])
      return x === null ? null : finiteOrNull(fn(x))
    },
  }
}

function binary(name: string, summary: string, names: [string, string], fn: (x: number, y: number) => number): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary, params: [num(names[0]), num(names[1])], required: 2,
    impl: (a) => {
      const x = asNumber(a[0])
      const y = asNumber(a[1])
      return x === null || y === null ? null : finiteOrNull(fn(x, y))
    },
  }
}

/** Rounds half away from zero at `digits` decimals; the scaling by a power of ten is corrected by EPSILON. */
export function roundTo(x: number, digits: number): number {
  if (digits === 0) return Math.sign(x) * Math.round(Math.abs(x))
  const f = 10 ** digits
  return (Math.sign(x) * Math.round(Math.abs(x) * f * (1 + Number.EPSILON))) / f
}

export const mathFunctions: ScalarFunctionSpec[] = [
  unary('abs', 'absolute value', Math.abs),
  unary('ceil', 'smallest integer >= x', Math.ceil),
  unary('floor', 'largest integer <= x', Math.floor),
  unary('sqrt', 'square root', Math.sqrt),
  unary('exp', 'e to the power x', Math.exp),
  unary('ln', 'natural logarithm', Math.log),
  unary('log', 'base-10 logarithm', Math.log10),
  unary('sign', '-1, 0 or 1', Math.sign),
  binary('power', 'x to the power y', ['x', 'y'], (x, y) => x ** y),
  binary('mod', 'remainder of x / y (null when y = 0)', ['x', 'y'], (x, y) => x % y),
  {
    kind: 'scalar', name: 'round', summary: 'round half away from zero, optionally to d decimals',
    params: [num(), num('d')], required: 1,
    check: (c) => (c[1] !== undefined && (asInteger(c[1]) === null || (c[1] as number) < 0 || (c[1] as number) > 15)
      ? 'round(x, d): d must be an integer from 0 to 15' : undefined),
    impl: (a) => {
      const x = asNumber(a[0])
      if (x === null) return null
      const d = a.length > 1 ? asInteger(a[1]) : 0
      if (d === null || d < 0 || d > 15) return null
      return finiteOrNull(roundTo(x, d))
    },
  },
  {
    kind: 'scalar', name: 'clamp', summary: 'x limited to [lo, hi]', params: [num(), num('lo'), num('hi')], required: 3,
    impl: (a) => {
      const x = asNumber(a[0])
      const lo = asNumber(a[1])
      const hi = asNumber(a[2])
      if (x === null || lo === null || hi === null || lo > hi) return null
      return x < lo ? lo : x > hi ? hi : x
    },
  },
]
