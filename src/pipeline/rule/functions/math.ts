/** Math functions. Non-numeric arguments and non-finite results (sqrt(-1), ln(0)) give null. */
import {finiteOrNull} from '../values.js'
import {asInteger, asNumber, num, param} from './define.js'
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

/** An integer argument as a 64-bit BigInt (what eKuiper's bit functions work on). */
function asBigInt(v: unknown): bigint | null {
  return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : null
}

function bitwise(name: string, summary: string, fn: (x: bigint, y: bigint) => bigint): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary, params: [num('x'), num('y')], required: 2,
    impl: (a) => {
      const x = asBigInt(a[0])
      const y = asBigInt(a[1])
      return x === null || y === null ? null : Number(BigInt.asIntN(64, fn(x, y)))
    },
  }
}

/** MySQL's CONV as eKuiper documents it: conv('a', 16, 2) = '1010', conv(-17, 10, -18) = '-H'. */
function conv(n: unknown, from: number | null, to: number | null): string | null {
  if (from === null || to === null) return null
  const fb = Math.abs(from)
  const tb = Math.abs(to)
  if (fb < 2 || fb > 36 || tb < 2 || tb > 36) return null
  const text = typeof n === 'number' ? String(Math.trunc(n)) : typeof n === 'string' ? n.trim() : null
  if (text === null || text === '') return null
  const neg = text.startsWith('-')
  const digits = (neg ? text.slice(1) : text).toLowerCase()
  let v = 0n
  for (const ch of digits) {
    const d = parseInt(ch, 36)
    if (Number.isNaN(d) || d >= fb) break
    v = v * BigInt(fb) + BigInt(d)
  }
  if (neg) v = -v
  if (to > 0 && v < 0n) v = BigInt.asUintN(64, v)
  const out = (v < 0n ? -v : v).toString(tb).toUpperCase()
  return v < 0n ? `-${out}` : out
}

/**
 * Rounds half away from zero at `digits` decimals (negative: to tens, hundreds…); the scaling by a power of ten is
 * corrected by EPSILON.
 */
export function roundTo(x: number, digits: number): number {
  if (digits === 0) return Math.sign(x) * Math.round(Math.abs(x))
  if (digits < 0) {
    const f = 10 ** -digits
    return Math.sign(x) * Math.round(Math.abs(x) / f) * f
  }
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
  {
    kind: 'scalar', name: 'log', summary: 'base-10 logarithm of x, or log(b, x): base b (null when x <= 0 or b <= 1)',
    params: [num(), num('x')], required: 1,
    impl: (a) => {
      const x = asNumber(a.length > 1 ? a[1] : a[0])
      const b = a.length > 1 ? asNumber(a[0]) : 10
      if (x === null || b === null || x <= 0 || b <= 1) return null
      return finiteOrNull(b === 10 ? Math.log10(x) : Math.log(x) / Math.log(b))
    },
  },
  unary('acos', 'inverse cosine (radians)', Math.acos),
  unary('asin', 'inverse sine (radians)', Math.asin),
  unary('atan', 'inverse tangent (radians)', Math.atan),
  binary('atan2', 'angle of the point (x, y) from the x-axis: atan2(y, x) in radians', ['y', 'x'], Math.atan2),
  unary('cos', 'cosine', Math.cos),
  unary('cosh', 'hyperbolic cosine', Math.cosh),
  unary('sin', 'sine', Math.sin),
  unary('sinh', 'hyperbolic sine', Math.sinh),
  unary('tan', 'tangent', Math.tan),
  unary('tanh', 'hyperbolic tangent', Math.tanh),
  unary('cot', 'cotangent', (x) => 1 / Math.tan(x)),
  unary('radians', 'degrees to radians', (x) => (x * Math.PI) / 180),
  unary('degrees', 'radians to degrees', (x) => (x * 180) / Math.PI),
  unary('ceiling', 'smallest integer >= x', Math.ceil),
  binary('pow', 'x to the power y', ['x', 'y'], (x, y) => x ** y),
  bitwise('bitand', 'bitwise AND of two integers', (x, y) => x & y),
  bitwise('bitor', 'bitwise OR of two integers', (x, y) => x | y),
  bitwise('bitxor', 'bitwise XOR of two integers', (x, y) => x ^ y),
  {
    kind: 'scalar', name: 'bitnot', summary: 'bitwise NOT of an integer', params: [num()], required: 1,
    impl: (a) => {
      const x = asBigInt(a[0])
      return x === null ? null : Number(BigInt.asIntN(64, ~x))
    },
  },
  {kind: 'scalar', name: 'pi', summary: 'π', params: [], required: 0, impl: () => Math.PI},
  {kind: 'scalar', name: 'rand', summary: 'a random number in [0, 1)', params: [], required: 0, volatile: true, impl: () => Math.random()},
  {
    kind: 'scalar', name: 'conv', summary: 'n (an integer or text) from base `from` to base `to` (2..36; negative to: signed), as text',
    params: [param('n'), num('from'), num('to')], required: 3,
    impl: (a) => conv(a[0], asInteger(a[1]), asInteger(a[2])),
  },
  unary('sign', '-1, 0 or 1', Math.sign),
  binary('power', 'x to the power y', ['x', 'y'], (x, y) => x ** y),
  binary('mod', 'remainder of x / y (null when y = 0)', ['x', 'y'], (x, y) => x % y),
  {
    kind: 'scalar', name: 'round', summary: 'round half away from zero, optionally to d decimals',
    params: [num(), num('d')], required: 1,
    check: (c) => (c[1] !== undefined && (asInteger(c[1]) === null || (c[1] as number) < -15 || (c[1] as number) > 15)
      ? 'round(x, d): d must be an integer from -15 to 15' : undefined),
    impl: (a) => {
      const x = asNumber(a[0])
      if (x === null) return null
      const d = a.length > 1 ? asInteger(a[1]) : 0
      if (d === null || d < -15 || d > 15) return null
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
