/**
 * Analytic functions (eKuiper's name): functions that remember earlier rows — lag, latest, changed_col, had_changed,
 * the acc_* family, and iotd's changed and rolling zscore. They step on every row that reaches the rule, before WHERE
 * or CASE could skip them (compile.ts, compileAnalytics), one state per (call site, partition key): the call's
 * `OVER (PARTITION BY …)` or, without one, the record key the runtime assigns (e.g. the device id).
 *
 * Every state is a plain, JSON-serialisable object created by `init` and changed in place by `step`, so the runtime
 * can checkpoint and restore it as it is (RuleState.entries / restore).
 */
import {deepEqual} from '../values.js'
import {asNumber, num, param} from './define.js'
import type {ConstArgs, StatefulFunctionSpec} from './types.js'

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && deepEqual(a, b))
}

/** Keeps a kept value independent of the payload it came from (a later row must not change it). */
function keep(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? structuredClone(v) : (v ?? null)
}

/** A typed definition; the registry sees the state as unknown. */
function analytic<S>(spec: Omit<StatefulFunctionSpec, 'init' | 'step' | 'skip' | 'kind'> & {
  init(consts: ConstArgs, args: readonly unknown[]): S
  step(state: S, args: readonly unknown[], consts: ConstArgs): unknown
  skip?(state: S, args: readonly unknown[], consts: ConstArgs): unknown
}): StatefulFunctionSpec {
  return {...spec, kind: 'stateful'} as StatefulFunctionSpec
}

// ------------------------------------------------------------------ lag

/** The last n kept values, oldest first at `pos`; pre-filled with the default (eKuiper's ring queue). */
interface LagState {
  ring: unknown[]
  pos: number
}

function lagIgnoresNull(args: readonly unknown[]): boolean {
  return args.length > 3 ? args[3] !== false : true
}

const lag = analytic<LagState>({
  name: 'lag',
  summary: 'the value of x n rows earlier (default n = 1; nulls skipped unless ignoreNull is false)',
  params: [param('x'), param('n', 'number', true), param('default'), param('ignoreNull', 'boolean')],
  required: 1,
  check: (c) => checkCount('lag', 'n', 1, MAX_HISTORY, 1)(c),
  // The ring starts full of the default, so the first n rows give it (the default is the value at init).
  init: (c, args) => ({ring: new Array<unknown>(positiveIntegerConst(c, 1, 1)).fill(keep(args[2] ?? null)), pos: 0}),
  step(s, args) {
    const out = s.ring[s.pos]
    const v = args[0] ?? null
    // A null with ignoreNull (the default) is not kept: the row sees the current lag.
    if (v === null && lagIgnoresNull(args)) return out
    s.ring[s.pos] = keep(v)
    if (++s.pos === s.ring.length) s.pos = 0
    return out
  },
  skip: (s) => s.ring[s.pos],
})

// ------------------------------------------------------------------ latest, changed

const latest = analytic<{value: unknown}>({
  name: 'latest',
  summary: 'the latest non-null value of x (default until there is one)',
  params: [param('x'), param('default')],
  required: 1,
  init: () => ({value: null}),
  step(s, args) {
    const v = args[0] ?? null
    if (v !== null) {
      s.value = keep(v)
      return v
    }
    return s.value ?? args[1] ?? null
  },
  skip: (s, args) => s.value ?? args[1] ?? null,
})

const changed = analytic<{seen: boolean; last: unknown}>({
  name: 'changed',
  summary: 'true when x differs from its last non-null value (the first one counts)',
  params: [param('x')],
  required: 1,
  init: () => ({seen: false, last: null}),
  step(s, args) {
    const v = args[0]
    if (v === null || v === undefined) return false
    if (s.seen && sameValue(s.last, v)) return false
    s.seen = true
    s.last = keep(v)
    return true
  },
  skip: () => false,
})

/** eKuiper: the saved value starts as nil, so a first null (with ignoreNull false) is "unchanged". */
const changedCol = analytic<{last: unknown}>({
  name: 'changed_col',
  summary: 'x when it changed since the last row, else null (ignoreNull: nulls are no change)',
  params: [param('ignoreNull', 'boolean', true), param('x')],
  required: 2,
  init: () => ({last: null}),
  step(s, args) {
    const v = args[1] ?? null
    if (v === null && args[0] !== false) return null
    if (sameValue(s.last, v)) return null
    s.last = keep(v)
    return v
  },
  skip: () => null,
})

const hadChanged = analytic<{last: unknown[]}>({
  name: 'had_changed',
  summary: 'true when any of the expressions changed since the last row (ignoreNull: nulls are no change)',
  params: [param('ignoreNull', 'boolean', true), param('x')],
  required: 2,
  variadic: param('x'),
  init: () => ({last: []}),
  step(s, args) {
    const ignoreNull = args[0] !== false
    let result = false
    for (let i = 1; i < args.length; i++) {
      const v = args[i] ?? null
      if (v === null && ignoreNull) continue
      if (!sameValue(s.last[i - 1] ?? null, v)) {
        result = true
        s.last[i - 1] = keep(v)
      }
    }
    return result
  },
  skip: () => false,
})

// ------------------------------------------------------------------ acc_*

/**
 * acc_sum/count/avg/min/max(x [, begin, reset]) over the rule's whole life (per partition). With the conditions,
 * accumulation starts on a row where `begin` is true (that row counts) and stops after a row where `reset` is true;
 * while stopped the result is the empty value (0). As eKuiper's funcs_acc.go.
 */
interface AccState {
  begun: boolean
  count: number
  sum: number
  min: number | null
  max: number | null
}

function accReset(s: AccState): void {
  s.count = 0
  s.sum = 0
  s.min = null
  s.max = null
}

function accumulate(name: string, summary: string, result: (s: AccState) => unknown): StatefulFunctionSpec {
  return analytic<AccState>({
    name,
    summary,
    params: [param('x'), param('begin', 'boolean'), param('reset', 'boolean')],
    required: 1,
    check: (c) => (c.length === 2 ? `${name}() takes 1 or 3 arguments (x, or x, begin, reset)` : undefined),
    init: () => ({begun: false, count: 0, sum: 0, min: null, max: null}),
    step(s, args) {
      const conditional = args.length === 3
      if (conditional) {
        if (!s.begun) accReset(s)
        if (args[1] === true) s.begun = true
      }
      if (!conditional || s.begun) {
        const v = args[0]
        if (v !== null && v !== undefined) {
          s.count++
          const x = asNumber(v)
          if (x !== null) {
            s.sum += x
            s.min = s.min === null ? x : Math.min(s.min, x)
            s.max = s.max === null ? x : Math.max(s.max, x)
          }
        }
      }
      const out = result(s)
      if (conditional && args[2] === true) s.begun = false
      return out
    },
    skip: (s) => result(s),
  })
}

const accFunctions = [
  accumulate('acc_sum', 'running sum of x over the rule\'s life [from begin to reset]', (s) => s.sum),
  accumulate('acc_count', 'running count of non-null x [from begin to reset]', (s) => s.count),
  accumulate('acc_avg', 'running average of x [from begin to reset]', (s) => (s.count === 0 ? 0 : s.sum / s.count)),
  accumulate('acc_min', 'running minimum of x [from begin to reset]', (s) => s.min ?? 0),
  accumulate('acc_max', 'running maximum of x [from begin to reset]', (s) => s.max ?? 0),
]

// ------------------------------------------------------------------ zscore

/**
 * zscore(x, n [, minSamples]): how many sample standard deviations x lies from the mean of the previous n values.
 * Null until minSamples values are known (default n: a full window, so a new device does not flood alerts while its
 * history is short), or when they are all equal. Running mean and M2 with removal (Welford) keep it O(1) per row and
 * stable for large offsets such as epoch timestamps or meter totals.
 */
export interface ZScoreState {
  ring: number[]
  pos: number
  count: number
  mean: number
  m2: number
}

export function zscoreInit(n: number): ZScoreState {
  return {ring: new Array<number>(n).fill(0), pos: 0, count: 0, mean: 0, m2: 0}
}

export function zscoreStep(s: ZScoreState, x: number, minSamples: number): number | null {
  let z: number | null = null
  if (s.count >= minSamples) {
    const sd = Math.sqrt(s.m2 / (s.count - 1))
    if (sd > 0) z = (x - s.mean) / sd
  }
  const n = s.ring.length
  if (s.count === n) {
    // Remove the oldest value.
    const y = s.ring[s.pos]
    s.count--
    if (s.count === 0) {
      s.mean = 0
      s.m2 = 0
    } else {
      const d = y - s.mean
      s.mean -= d / s.count
      s.m2 = Math.max(0, s.m2 - d * (y - s.mean))
    }
  }
  s.ring[s.pos] = x
  if (++s.pos === n) s.pos = 0
  s.count++
  const d = x - s.mean
  s.mean += d / s.count
  s.m2 += d * (x - s.mean)
  return z
}

const zscore = analytic<ZScoreState>({
  name: 'zscore',
  summary: 'rolling z-score of x against the previous n values; null until minSamples (default n) are known',
  params: [num(), param('n', 'number', true), param('minSamples', 'number', true)],
  required: 2,
  check: (c) => {
    const bad = checkCount('zscore', 'n', 2, MAX_HISTORY, 1)(c) ?? checkCount('zscore', 'minSamples', 2, MAX_HISTORY, 2)(c)
    if (bad) return bad
    const n = c[1]
    const m = c[2]
    if (typeof n === 'number' && typeof m === 'number' && m > n) return `zscore: minSamples (${m}) cannot exceed n (${n}): only n values are kept`
    return undefined
  },
  init: (c) => zscoreInit(positiveIntegerConst(c, 1, 2)),
  step(s, args, c) {
    const x = asNumber(args[0])
    if (x === null) return null
    return zscoreStep(s, x, positiveIntegerConst(c, 2, s.ring.length))
  },
})

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

export const statefulFunctions: StatefulFunctionSpec[] = [lag, latest, changed, changedCol, hadChanged, ...accFunctions, zscore]
