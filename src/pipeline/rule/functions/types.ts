/**
 * What a function of the rule language is: its signature (checked when a rule is planned) and its implementation
 * (called by compiled expressions). Four kinds: scalar (pure per row, except now()/newuuid()), stateful (per key
 * state across rows: lag, changed, zscore), aggregate (incremental accumulators, used by windows) and window
 * (window_start/window_end).
 */
import type {LiteralValue} from '../ast.js'

export type ParamType = 'any' | 'number' | 'string' | 'boolean'

export interface ParamSpec {
  name: string
  type: ParamType
  /** The argument must be written as a literal (a percentile, a cast target, a history length). */
  literal?: boolean
}

/** Literal arguments as written (undefined where the argument is not a literal), for plan-time checks. */
export type ConstArgs = readonly (LiteralValue | undefined)[]

interface SignatureSpec {
  name: string
  /** One line for `pipeline explain` and the reference docs. */
  summary: string
  params: readonly ParamSpec[]
  /** Number of leading params that are required; the rest are optional. */
  required: number
  /** Further arguments of this shape may follow the params (concat, coalesce). */
  variadic?: ParamSpec
  /** Extra plan-time check of literal arguments; returns a message when they are wrong. */
  check?: (consts: ConstArgs) => string | undefined
}

/** Services a function may need, injected so tests control time and randomness. */
export interface FunctionContext {
  now(): number
  randomUUID(): string
}

export interface ScalarFunctionSpec extends SignatureSpec {
  kind: 'scalar'
  /**
   * `args` is a buffer reused by the call site on every row: read it, never keep it.
   * Unless `nullSafe`, the caller returns null without calling when any argument is null.
   */
  impl: (args: readonly unknown[], ctx: FunctionContext) => unknown
  nullSafe?: boolean
  /** Returns a different value for the same arguments (now, newuuid): never folded, never cached. */
  volatile?: boolean
}

/**
 * An analytic function: state per (call site, partition key), stepped on every row before the row is evaluated.
 * The state is a plain JSON-serialisable object (checkpointed as it is), created on a key's first row.
 */
export interface StatefulFunctionSpec extends SignatureSpec {
  kind: 'stateful'
  /** A fresh state; `args` are the first row's argument values (lag's default may be an expression). */
  init(consts: ConstArgs, args: readonly unknown[]): unknown
  /** One row: update the state, return the value. `args` is a reused buffer: copy what must be kept. */
  step(state: unknown, args: readonly unknown[], consts: ConstArgs): unknown
  /** A row its OVER (WHEN …) rejected: the value to give without changing the state (default null). */
  skip?(state: unknown, args: readonly unknown[], consts: ConstArgs): unknown
}

/** An incremental aggregate over the rows of one window and key. */
export interface Accumulator {
  add(value: unknown): void
  result(): unknown
  /** Back to the empty state, so a window operator can reuse accumulators. */
  reset(): void
  /** Folds another accumulator of the same function into this one; `other` holds later rows. */
  merge(other: Accumulator): void
}

export interface AggregateFunctionSpec extends SignatureSpec {
  kind: 'aggregate'
  /** `count(*)` (counts rows); for other aggregates `f(*)` takes the whole row (`collect(*)`, `merge_agg(*)`). */
  allowsStar?: boolean
  /** add() gets `[x, row]`: the value and the whole row (deduplicate returns rows). */
  rowArg?: boolean
  /**
   * The first argument is the per-row value; the others are literals passed here. `star` is true for count(*),
   * whose accumulator counts every add() call.
   */
  create(consts: ConstArgs, star: boolean): Accumulator
}

export interface WindowFunctionSpec extends SignatureSpec {
  kind: 'window'
  bound: 'start' | 'end'
}

export type FunctionSpec = ScalarFunctionSpec | StatefulFunctionSpec | AggregateFunctionSpec | WindowFunctionSpec
