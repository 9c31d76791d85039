/**
 * The syntax tree of a rule, exactly as written (names not yet resolved, functions not yet checked).
 * Produced by sql.peggy; every node carries where it came from so later stages can point at it.
 */

/** A span of the rule text: 1-based line/col of the start, 0-based offsets. */
export interface SourceSpan {
  offset: number
  line: number
  col: number
  endOffset: number
}

export type LiteralValue = number | string | boolean | null

export interface LiteralExpr {
  kind: 'literal'
  value: LiteralValue
  /** Written in double quotes: a string in eKuiper SQL, but a field name in many other dialects (lint checks it). */
  quote?: 'double'
  loc: SourceSpan
}

/**
 * `.name` (stream qualifier or nested field), `->name` (always nested), `[n]` (array element; negative from the end),
 * `[from:to]` (a slice, end exclusive; either bound may be left out or negative).
 */
export type Accessor =
  | {kind: 'member'; name: string; arrow: boolean}
  | {kind: 'index'; index: number}
  | {kind: 'slice'; from?: number; to?: number}

/** A name with optional accessors: `temp`, `s.temp`, `payload->a->b`, `readings[0]`, `"odd name".x`. */
export interface RefExpr {
  kind: 'ref'
  name: string
  /** Written in double quotes or backticks (may then contain anything, even a keyword). */
  quoted: boolean
  path: Accessor[]
  loc: SourceSpan
}

/** Accessors applied to a computed value, e.g. `parse_json(raw)->a[0]`. */
export interface AccessExpr {
  kind: 'access'
  target: Expr
  path: Accessor[]
  loc: SourceSpan
}

/** `meta(topic)`, `meta(qos)`, …, or `meta(*)` for the whole metadata object. */
export interface MetaExpr {
  kind: 'meta'
  key: string
  /** As written: `meta` or eKuiper's `mqtt`. */
  fn?: 'meta' | 'mqtt'
  loc: SourceSpan
}

export type UnaryOp = '-' | 'not'
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%'
/** `==` is read as `=`, `<>` as `!=`. */
export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>='
export type LogicalOp = 'and' | 'or'
export type BinaryOp = ArithmeticOp | ComparisonOp | LogicalOp

export interface UnaryExpr {
  kind: 'unary'
  op: UnaryOp
  operand: Expr
  loc: SourceSpan
}

export interface BinaryExpr {
  kind: 'binary'
  op: BinaryOp
  left: Expr
  right: Expr
  loc: SourceSpan
}

export interface InExpr {
  kind: 'in'
  operand: Expr
  list: Expr[]
  negated: boolean
  loc: SourceSpan
}

export interface BetweenExpr {
  kind: 'between'
  operand: Expr
  low: Expr
  high: Expr
  negated: boolean
  loc: SourceSpan
}

export interface LikeExpr {
  kind: 'like'
  operand: Expr
  pattern: Expr
  negated: boolean
  loc: SourceSpan
}

export interface IsNullExpr {
  kind: 'isNull'
  operand: Expr
  negated: boolean
  loc: SourceSpan
}

export interface WhenClause {
  when: Expr
  then: Expr
}

/** Searched (`CASE WHEN cond THEN …`) when `operand` is absent, simple (`CASE x WHEN v THEN …`) otherwise. */
export interface CaseExpr {
  kind: 'case'
  operand?: Expr
  whens: WhenClause[]
  else?: Expr
  loc: SourceSpan
}

export interface CallExpr {
  kind: 'call'
  /** Lower-cased: function names are case-insensitive. */
  name: string
  args: Expr[]
  /** `count(*)` */
  star: boolean
  /** `lag(x) OVER (PARTITION BY deviceId)`: the key of a stateful function's state. */
  partitionBy?: Expr[]
  /** `lag(x) OVER (WHEN cond)`: rows failing cond leave the state alone (eKuiper's analytic WHEN). */
  when?: Expr
  loc: SourceSpan
}

export type Expr =
  | LiteralExpr
  | RefExpr
  | AccessExpr
  | MetaExpr
  | UnaryExpr
  | BinaryExpr
  | InExpr
  | BetweenExpr
  | LikeExpr
  | IsNullExpr
  | CaseExpr
  | CallExpr

export interface StarReplace {
  expr: Expr
  alias: string
  loc: SourceSpan
}

export type SelectItem =
  /** `*`, `t.*`, with eKuiper's `EXCEPT(a, b)` and `REPLACE(expr AS a)`. */
  | {kind: 'star'; qualifier?: string; except?: string[]; replace?: StarReplace[]; loc: SourceSpan}
  | {kind: 'field'; expr: Expr; alias?: string; loc: SourceSpan}

/** `FROM "factory/+/temp"` (a quoted MQTT topic filter) or `FROM telemetry` (a source declared in the pipeline). */
export type FromClause =
  | {kind: 'topic'; filter: string; alias?: string; loc: SourceSpan}
  | {kind: 'stream'; name: string; alias?: string; loc: SourceSpan}

export interface JoinClause {
  kind: 'join'
  type: 'left' | 'inner'
  table: string
  alias?: string
  on: Expr
  loc: SourceSpan
}

/** A window kind of window/kinds.ts, lowercase, as the call names it (TUMBLINGWINDOW -> tumbling). */
export type WindowKind = string

/** A window argument as written; the planner checks units, counts and signs so it can say which one is wrong. */
export type WindowArg = {kind: 'number'; value: number; loc: SourceSpan} | {kind: 'unit'; unit: string; loc: SourceSpan}

export interface WindowClause {
  kind: 'window'
  windowKind: WindowKind
  args: WindowArg[]
  /** `FILTER (WHERE cond)` */
  filter?: Expr
  /** `OVER (WHEN cond)`, sliding windows only */
  over?: Expr
  loc: SourceSpan
}

export interface GroupByClause {
  keys: Expr[]
  window?: WindowClause
  loc: SourceSpan
}

export interface OrderItem {
  expr: Expr
  direction: 'asc' | 'desc'
  loc: SourceSpan
}

export interface SelectStatement {
  kind: 'select'
  fields: SelectItem[]
  from: FromClause
  joins: JoinClause[]
  where?: Expr
  groupBy?: GroupByClause
  having?: Expr
  orderBy?: OrderItem[]
  limit?: number
  limitLoc?: SourceSpan
  loc: SourceSpan
}

export type RuleAst = SelectStatement
