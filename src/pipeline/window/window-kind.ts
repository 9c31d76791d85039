/**
 * What one window kind declares, in the file that also holds its operator: the SQL call (`TUMBLINGWINDOW`), the
 * shape of its arguments, the plan (argument values -> the kind's parameters), the operator built from those
 * parameters, and the words `pipeline explain` prints. The planner, the rule runner and explain read the kinds from
 * the registry (kinds.ts) and never switch over them.
 */
import {UsageError} from '../../errors.js'
import type {AggregatorFactory, WindowOperator, WindowOperatorOptions} from './types.js'

/** SQL time units in milliseconds, the one table: a timed window call starts with one of them (any case). */
export const TIME_UNITS_MS: Readonly<Record<string, number>> = {dd: 86_400_000, hh: 3_600_000, mi: 60_000, ss: 1000, ms: 1}

/** One number argument of a window call (after the time unit, for a timed kind). */
export interface WindowArgSpec {
  /** The name used in messages: `size`, `hop`, `n`. */
  name: string
  /** May be left out (only trailing arguments). The plan then sees `undefined` for it. */
  optional?: boolean
  /** A duration that may be 0 (a sliding window's delay, a session's timeout); durations are > 0 otherwise. */
  allowZero?: boolean
}

/** What a kind's plan may say about arguments that are valid but probably not meant. */
export interface WindowPlanContext {
  /** The numbers as written (before the unit is applied), for messages. */
  written: readonly number[]
  /** A warning at argument `arg` (0-based, after the unit), or at the whole call when `arg` is undefined. */
  warn(message: string, arg?: number): void
}

export interface WindowKindSpec<K extends string = string, P extends object = object> {
  /** Lowercase kind; the SQL call is the kind followed by WINDOW, in any case: tumbling -> TUMBLINGWINDOW. */
  kind: K
  /** As shown in messages and docs: `TUMBLINGWINDOW(unit, size)`. */
  signature: string
  /**
   * Timed kinds take a time unit first and their number arguments are durations (whole milliseconds once the unit
   * is applied). Untimed kinds (count) take whole numbers of at least 1.
   */
  timed: boolean
  args: readonly WindowArgSpec[]
  /** Accepts `OVER (WHEN cond)` (the condition is bound by the planner and handed to the operator's push). */
  over?: boolean
  /**
   * Keyed by GROUP BY, its rows differ from eKuiper's (which windows the whole stream and groups inside each window);
   * `pipeline lint` says so to people porting rules.
   */
  keyedUnlikeEkuiper?: boolean
  /** From checked argument values (durations in ms; absent optional ones undefined) to the kind's parameters. */
  plan(values: ReadonlyArray<number | undefined>, ctx: WindowPlanContext): P
  operator<R, A, S>(params: NoInfer<P>, aggregator: AggregatorFactory<R, A, S>, options?: WindowOperatorOptions<R>): WindowOperator<R, A>
  /** One phrase for `pipeline explain`: `hopping 5m every 1m`. */
  explain(params: NoInfer<P>): string
}

/** Declares a kind with its parameter type inferred from `plan`. */
export function defineWindowKind<K extends string, P extends object>(spec: WindowKindSpec<K, P>): WindowKindSpec<K, P> {
  return spec
}

/** A duration for explain: the largest unit that divides it (`5m`, `90s`, `1500ms`). */
export function formatWindowMs(n: number): string {
  if (n === 0) return '0'
  for (const [u, f] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (n % f === 0) return `${n / f}${u}`
  return `${n}ms`
}

/**
 * Range checks of an operator built in code (the planner has checked SQL arguments already, with positions).
 * Throws UsageError naming the kind and the parameter.
 */
export const checkParam = {
  positive(kind: string, v: number, what: string): void {
    if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${kind} window: ${what} must be greater than 0, got ${v}`)
  },
  nonNegative(kind: string, v: number, what: string): void {
    if (!(v >= 0) || !Number.isFinite(v)) throw new UsageError(`${kind} window: ${what} must be 0 or more, got ${v}`)
  },
  wholePositive(kind: string, v: number, what: string): void {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${kind} window: ${what} must be a whole number of at least 1, got ${v}`)
  },
}
