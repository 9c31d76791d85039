/**
 * The plan of a rule: names resolved, functions checked, aggregates extracted and numbered, the window turned into
 * milliseconds. This is what the window operator and the runtime consume (and what `pipeline explain` prints).
 */
import type {ComparisonOp, ArithmeticOp, LiteralValue, LogicalOp, SourceSpan} from './ast.js'
import type {WindowSpec} from '../window/kinds.js'
import type {RuleProblem} from './errors.js'
import type {AggregateFunctionSpec, ConstArgs, ScalarFunctionSpec, StatefulFunctionSpec} from './functions/types.js'

/** A step into a value: an object member, an array index (negative counts from the end) or a slice `[from:to]`. */
export type PathStep = string | number | {from?: number; to?: number}

export const META_KEYS = ['topic', 'qos', 'retain', 'clientid', 'timestamp', 'messageid'] as const
export type MetaKey = (typeof META_KEYS)[number]

/** Expressions after planning: every name is resolved to where its value comes from. */
export type BoundExpr =
  | {kind: 'literal'; value: LiteralValue; loc: SourceSpan}
  /** A field of the record's payload. */
  | {kind: 'field'; path: PathStep[]; loc: SourceSpan}
  /** A column of a joined table's row, by the table's alias. */
  | {kind: 'tableField'; table: string; path: PathStep[]; loc: SourceSpan}
  | {kind: 'meta'; key: MetaKey | '*'; loc: SourceSpan}
  | {kind: 'access'; target: BoundExpr; path: PathStep[]; loc: SourceSpan}
  | {kind: 'negate'; operand: BoundExpr; loc: SourceSpan}
  | {kind: 'not'; operand: BoundExpr; loc: SourceSpan}
  | {kind: 'arithmetic'; op: ArithmeticOp; left: BoundExpr; right: BoundExpr; loc: SourceSpan}
  | {kind: 'compare'; op: ComparisonOp; left: BoundExpr; right: BoundExpr; loc: SourceSpan}
  | {kind: 'logical'; op: LogicalOp; left: BoundExpr; right: BoundExpr; loc: SourceSpan}
  | {kind: 'in'; operand: BoundExpr; list: BoundExpr[]; negated: boolean; loc: SourceSpan}
  | {kind: 'between'; operand: BoundExpr; low: BoundExpr; high: BoundExpr; negated: boolean; loc: SourceSpan}
  | {kind: 'like'; operand: BoundExpr; pattern: BoundExpr; negated: boolean; loc: SourceSpan}
  | {kind: 'isNull'; operand: BoundExpr; negated: boolean; loc: SourceSpan}
  | {kind: 'case'; operand?: BoundExpr; whens: {when: BoundExpr; then: BoundExpr}[]; else?: BoundExpr; loc: SourceSpan}
  | {kind: 'call'; name: string; spec: ScalarFunctionSpec; args: BoundExpr[]; loc: SourceSpan}
  /**
   * An analytic (stateful) function call; its value is computed before anything else of the row (see AnalyticPlan)
   * and read here from the row's analytic results by `slot`.
   */
  | {kind: 'stateful'; name: string; spec: StatefulFunctionSpec; args: BoundExpr[]; consts: ConstArgs; partitionBy?: BoundExpr[]; when?: BoundExpr; slot: number; loc: SourceSpan}
  /** The result of plan.aggregates[index] for the window being emitted. */
  | {kind: 'aggregate'; index: number; loc: SourceSpan}
  | {kind: 'windowBound'; bound: 'start' | 'end'; loc: SourceSpan}

export type BoundExprKind = BoundExpr['kind']

/**
 * eKuiper's evaluation model: analytic functions (lag, latest, changed_col, had_changed, acc_*, zscore) step on every
 * row that reaches the rule, before JOIN conditions, WHERE, CASE or short-circuit logic could skip them, each under
 * its own OVER (PARTITION BY … WHEN …). Calls over aggregates (`changed_col(true, avg(t))`) step once per emitted
 * window row instead (phase 'emit'). Listed in slot order: an inner call comes before the call that uses it.
 */
export type AnalyticPlan = Extract<BoundExpr, {kind: 'stateful'}> & {phase: 'row' | 'emit'}

/** One aggregate call, computed incrementally by the window operator. Equal calls share one index. */
export interface AggregatePlan {
  index: number
  name: string
  spec: AggregateFunctionSpec
  /** The per-row value (absent for count(*)). */
  arg?: BoundExpr
  star: boolean
  /** Literal arguments after the value (percentile's p, last_value's ignoreNull). */
  consts: ConstArgs
  loc: SourceSpan
}

interface WindowBase {
  /** FILTER (WHERE cond): rows failing it are not windowed (they still advance the watermark). */
  filter?: BoundExpr
  loc: SourceSpan
}

/** The window: its kind's parameters (window/kinds.ts), FILTER, and OVER (WHEN …) for the kinds that take it. */
export type WindowPlan = WindowBase & WindowSpec & {over?: BoundExpr}

export type WindowPlanKind = WindowSpec['kind']

export type SourcePlan = {kind: 'topic'; filter: string; alias: string} | {kind: 'stream'; name: string; alias: string}

export interface JoinPlan {
  type: 'left' | 'inner'
  table: string
  /** The name rows of this table are reached by in expressions (alias, or the table name). */
  alias: string
  on: BoundExpr
  loc: SourceSpan
}

export type ProjectionPlan =
  | {kind: 'expr'; name: string; expr: BoundExpr; loc: SourceSpan}
  /** `*` (the payload's fields) or `t.*` (a joined table's row), less `except`, with `replace` columns computed. */
  | {kind: 'star'; from: 'payload' | {table: string}; except?: string[]; replace?: {name: string; expr: BoundExpr}[]; loc: SourceSpan}
  /** eKuiper's multi-column functions: `changed_cols(prefix, ignoreNull, a, b…)` adds the columns that changed. */
  | {kind: 'changedCols'; prefix: string; ignoreNull: boolean; columns: {name: string; expr: BoundExpr}[]; star: boolean; slot: number; loc: SourceSpan}
  /** eKuiper's multi-row function: `unnest(array)` turns one row into one per element (objects spread into columns). */
  | {kind: 'unnest'; name: string; expr: BoundExpr; loc: SourceSpan}

export interface GroupKeyPlan {
  name: string
  expr: BoundExpr
}

export interface OrderPlan {
  expr: BoundExpr
  direction: 'asc' | 'desc'
}

export interface RuleAnalysis {
  /** Aggregates, GROUP BY or a window: output rows come from windows, not from single events. */
  aggregating: boolean
  windowed: boolean
  /** Payload paths read anywhere, dotted (`a.b`, `arr[0]`), sorted. */
  fields: string[]
  /** Top-level payload field names read, sorted (what a CSV source needs to decode). */
  topLevelFields: string[]
  /** Columns read per joined table alias. */
  tableFields: Record<string, string[]>
  meta: string[]
  /** Output alias -> projection index. */
  aliases: Record<string, number>
  selectsAll: boolean
  usesWindowBounds: boolean
  /** Number of stateful call sites (lag, changed, zscore); state slots are 0 .. statefulSlots-1. */
  statefulSlots: number
  /**
   * A windowed rule without aggregates or GROUP BY keys (`SELECT * … GROUP BY TUMBLINGWINDOW(ss, 10)`): each firing
   * emits every row of the window, in arrival order, as eKuiper does (it sends them as one list).
   */
  emitsEveryRow: boolean
  /** Output columns that are whole numbers by construction (count, acc_count, cast(x, 'bigint')): typed bigint by sinks. */
  integerColumns: string[]
  /** Projected columns neither aggregated nor grouped: they take the last row's value (eKuiper behaviour). */
  lastValueColumns: string[]
}

export interface RulePlan {
  source: SourcePlan
  joins: JoinPlan[]
  where?: BoundExpr
  window?: WindowPlan
  groupKeys: GroupKeyPlan[]
  projections: ProjectionPlan[]
  aggregates: AggregatePlan[]
  /** Analytic calls in evaluation order (see AnalyticPlan). */
  analytics: AnalyticPlan[]
  having?: BoundExpr
  orderBy: OrderPlan[]
  limit?: number
  analysis: RuleAnalysis
  warnings: RuleProblem[]
}
