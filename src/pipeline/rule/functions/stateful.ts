/**
 * Functions that remember earlier rows of the same key: lag, changed, changed_col and the rolling zscore.
 * One instance lives per (call site, key); the key is the call's `OVER (PARTITION BY …)` or, without one, the
 * record key the runtime assigns (e.g. the device id), so one device's history never leaks into another's.
 */
import {deepEqual} from '../values.js'
import {asNumber, num, param} from './define.js'
import type {ConstArgs, StatefulFunctionSpec, StatefulInstance} from './types.js'

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && deepEqual(a, b))
}

/** lag(x[, n[, default]]): the value of x n rows earlier for this key (nulls included), default until then. */
class Lag implements StatefulInstance {
  private readonly ring: unknown[]
  private pos = 0
  private filled = 0
  constructor(private readonly n: number) {
    this.ring = new Array<unknown>(n).fill(null)
  }
  step(args: readonly unknown[]): unknown {
    const out = this.filled >= this.n ? this.ring[this.pos] : args.length > 2 ? args[2] ?? null : null
    this.ring[this.pos] = args[0] ?? null
    this.pos = (this.pos + 1) % this.n
    if (this.filled < this.n) this.filled++
    return out
  }
}

/** changed(x): true when x is not null and differs from the last non-null x of this key (the first one counts). */
class Changed implements StatefulInstance {
  private seen = false
  private last: unknown = null
  step(args: readonly unknown[]): unknown {
    const v = args[0]
    if (v === null || v === undefined) return false
    if (this.seen && sameValue(this.last, v)) return false
    this.seen = true
    this.last = v
    return true
  }
}

/** changed_col(ignoreNull, x) as in eKuiper: x when it changed, else null. */
class ChangedCol implements StatefulInstance {
  private seen = false
  private last: unknown = null
  constructor(private readonly ignoreNull: boolean) {}
  step(args: readonly unknown[]): unknown {
    const v = args[1] ?? null
    if (v === null && this.ignoreNull) return null
    if (this.seen && (v === null ? this.last === null : sameValue(this.last, v))) return null
    this.seen = true
    this.last = v
    return v
  }
}

/**
 * zscore(x, n): how many sample standard deviations x lies from the mean of this key's previous n values.
 * Null until two values are known or when they are all equal. Running mean and M2 with removal (Welford) keep it
 * O(1) per row and stable for large offsets such as epoch timestamps or meter totals.
 */
export class RollingZScore implements StatefulInstance {
  private readonly ring: Float64Array
  private pos = 0
  private count = 0
  private mean = 0
  private m2 = 0
  constructor(private readonly n: number) {
    this.ring = new Float64Array(n)
  }
  step(args: readonly unknown[]): unknown {
    const x = asNumber(args[0])
    if (x === null) return null
    let z: number | null = null
    if (this.count >= 2) {
      const sd = Math.sqrt(this.m2 / (this.count - 1))
      if (sd > 0) z = (x - this.mean) / sd
    }
    if (this.count === this.n) this.remove(this.ring[this.pos])
    this.ring[this.pos] = x
    this.pos = (this.pos + 1) % this.n
    this.add(x)
    return z
  }
  private add(x: number): void {
    this.count++
    const d = x - this.mean
    this.mean += d / this.count
    this.m2 += d * (x - this.mean)
  }
  private remove(y: number): void {
    this.count--
    if (this.count === 0) {
      this.mean = 0
      this.m2 = 0
      return
    }
    const d = y - this.mean
    this.mean -= d / this.count
    this.m2 = Math.max(0, this.m2 - d * (y - this.mean))
  }
}

function positiveIntegerConst(consts: ConstArgs, i: number, fallback: number): number {
  const v = consts[i]
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : fallback
}

function checkCount(fn: string, arg: string, min: number, max: number, i: number) {
  return (c: ConstArgs): string | undefined => {
    const v = c[i]
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return `${fn}: ${arg} must be a whole number from ${min} to ${max}`
    }
    return undefined
  }
}

export const MAX_HISTORY = 100_000

export const statefulFunctions: StatefulFunctionSpec[] = [
  {
    kind: 'stateful', name: 'lag', summary: 'the value of x n rows earlier for the same key (default n = 1)',
    params: [param('x'), param('n', 'number', true), param('default')], required: 1,
    check: checkCount('lag', 'n', 1, MAX_HISTORY, 1),
    create: (c) => new Lag(positiveIntegerConst(c, 1, 1)),
  },
  {
    kind: 'stateful', name: 'changed', summary: 'true when x differs from its last non-null value for the same key',
    params: [param('x')], required: 1,
    create: () => new Changed(),
  },
  {
    kind: 'stateful', name: 'changed_col', summary: 'x when it changed for the same key, else null (eKuiper)',
    params: [param('ignoreNull', 'boolean', true), param('x')], required: 2,
    create: (c) => new ChangedCol(c[0] !== false),
  },
  {
    kind: 'stateful', name: 'zscore', summary: 'rolling z-score of x against the previous n values of the same key',
    params: [num(), param('n', 'number', true)], required: 2,
    check: checkCount('zscore', 'n', 2, MAX_HISTORY, 1),
    create: (c) => new RollingZScore(positiveIntegerConst(c, 1, 2)),
  },
]
