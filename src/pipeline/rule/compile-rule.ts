/**
 * A whole plan compiled once: the closures the runtime and the window operator call per event and per window.
 * The window operator owns window state; this module only says how to evaluate each part of the rule.
 */
import {compileAnalytics, compileNode, makeCompiler, predicateOf, type CompileEnv, type Evaluator, type Predicate, RuleState} from './compile.js'
import type {Accumulator} from './functions/types.js'
import type {AggregatePlan, ProjectionPlan, RulePlan} from './plan-types.js'
import type {RowContext} from './row-context.js'
import {deepEqual} from './values.js'

export interface CompiledAggregate {
  plan: AggregatePlan
  /** The per-row value to add(); count(*) adds the constant 1. */
  value: Evaluator
  create(): Accumulator
}

export interface CompileRuleOptions extends CompileEnv {
  /** Keep null columns in output rows (eKuiper's sendNil); by default a null column is left out, as eKuiper does. */
  sendNil?: boolean
}

export interface CompiledRule {
  plan: RulePlan
  state: RuleState
  /**
   * Steps every per-row analytic call (lag, zscore, …) and stores the values in `row.analytic`: the runtime calls it
   * for every row that reaches the rule, before JOIN conditions, WHERE or anything else looks at the row.
   */
  stepRow(row: RowContext): void
  /** Steps the analytic calls over aggregates (`changed_col(true, avg(t))`) for a window row about to be emitted. */
  stepEmit(row: RowContext): void
  where?: Predicate
  /** FILTER (WHERE …) of the window */
  filter?: Predicate
  /** OVER (WHEN …) of a sliding window */
  over?: Predicate
  joinOn: Predicate[]
  groupKeys: Evaluator[]
  aggregates: CompiledAggregate[]
  having?: Predicate
  /**
   * Builds the output rows of one row context: one, none (every column null or unchanged: eKuiper sends nothing),
   * or several (unnest). For aggregating rules `row` is the window's last row with aggregates and window set.
   */
  project(row: RowContext, out: Record<string, unknown>[]): void
}

type Column =
  | {kind: 'value'; name: string; value: Evaluator}
  | {kind: 'star'; from: 'payload' | {table: string}; except?: ReadonlySet<string>; replace?: {name: string; value: Evaluator}[]}
  | {kind: 'changed'; prefix: string; ignoreNull: boolean; star: boolean; columns: {name: string; value: Evaluator}[]; slot: number}
  | {kind: 'unnest'; name: string; value: Evaluator}

export function compileRule(plan: RulePlan, env: CompileRuleOptions = {}): CompiledRule {
  const state = env.state ?? new RuleState()
  const c = makeCompiler({...env, state})
  const pred = (e: Parameters<typeof compileNode>[0] | undefined): Predicate | undefined => (e ? predicateOf(compileNode(e, c)) : undefined)
  const window = plan.window
  const columns = plan.projections.map((p) => compileColumn(p, (e) => compileNode(e, c)))
  const stepRow = compileAnalytics(plan.analytics.filter((a) => a.phase === 'row'), c)
  const emitAnalytics = plan.analytics.filter((a) => a.phase === 'emit')
  const stepEmitOnly = compileAnalytics(emitAnalytics, c)
  const width = plan.analytics.reduce((m, a) => Math.max(m, a.slot + 1), 0)
  const sendNil = env.sendNil === true
  const unnest = columns.find((col) => col.kind === 'unnest')
  return {
    plan,
    state,
    stepRow,
    stepEmit(row) {
      if (emitAnalytics.length === 0) return
      // The window row starts from its last event's per-row values and adds its own.
      row.analytic = row.analytic ? [...row.analytic] : new Array<unknown>(width)
      stepEmitOnly(row)
    },
    where: pred(plan.where),
    filter: pred(window?.filter),
    over: pred(window?.kind === 'sliding' ? window.over : undefined),
    joinOn: plan.joins.map((j) => predicateOf(compileNode(j.on, c))),
    groupKeys: plan.groupKeys.map((k) => compileNode(k.expr, c)),
    aggregates: plan.aggregates.map((a) => ({
      plan: a,
      value: aggregateValue(a, (e) => compileNode(e, c)),
      create: () => a.spec.create(a.consts, a.star),
    })),
    having: pred(plan.having),
    project(row, out) {
      const fields: Record<string, unknown> = {}
      for (const col of columns) {
        switch (col.kind) {
          case 'value': {
            const v = col.value(row)
            if (v !== null || sendNil) fields[col.name] = v
            else delete fields[col.name]
            break
          }
          case 'star':
            projectStar(col, row, fields, sendNil)
            break
          case 'changed':
            projectChanged(col, row, fields, state)
            break
          case 'unnest':
            break
        }
      }
      if (unnest) {
        const list = unnest.value(row)
        if (!Array.isArray(list)) return
        for (const item of list) {
          out.push(item !== null && typeof item === 'object' && !Array.isArray(item) ? {...fields, ...(item as Record<string, unknown>)} : {...fields, [unnest.name]: item})
        }
        return
      }
      // eKuiper sends nothing for a row whose every column is null or unchanged (changed_col, changed_cols).
      if (columns.length > 0 && isEmpty(fields)) return
      out.push(fields)
    },
  }
}

/** What an aggregate's add() receives per row: its argument, 1 for count(*), the row for f(*), [x, row] for rowArg. */
function aggregateValue(a: AggregatePlan, compile: (e: Parameters<typeof compileNode>[0]) => Evaluator): Evaluator {
  const payload: Evaluator = (row) => row.payload ?? null
  if (!a.arg) return a.star && a.spec.name === 'count' ? () => 1 : payload
  const value = compile(a.arg)
  return a.spec.rowArg ? (row) => [value(row), row.payload ?? null] : value
}

function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false
  return true
}

function compileColumn(p: ProjectionPlan, compile: (e: Parameters<typeof compileNode>[0]) => Evaluator): Column {
  switch (p.kind) {
    case 'expr':
      return {kind: 'value', name: p.name, value: compile(p.expr)}
    case 'star':
      return {
        kind: 'star', from: p.from,
        except: p.except ? new Set(p.except) : undefined,
        replace: p.replace?.map((r) => ({name: r.name, value: compile(r.expr)})),
      }
    case 'changedCols':
      return {kind: 'changed', prefix: p.prefix, ignoreNull: p.ignoreNull, star: p.star, slot: p.slot, columns: p.columns.map((col) => ({name: col.name, value: compile(col.expr)}))}
    case 'unnest':
      return {kind: 'unnest', name: p.name, value: compile(p.expr)}
  }
}

function projectStar(col: Extract<Column, {kind: 'star'}>, row: RowContext, fields: Record<string, unknown>, sendNil: boolean): void {
  const src = col.from === 'payload' ? row.payload : row.tables?.[col.from.table]
  if (src !== null && typeof src === 'object' && !Array.isArray(src)) {
    if (!col.except && !col.replace && sendNil) Object.assign(fields, src)
    else {
      for (const [k, v] of Object.entries(src)) {
        if (col.except?.has(k) || (v === null && !sendNil)) continue
        fields[k] = v
      }
    }
  }
  // REPLACE wins over EXCEPT (eKuiper).
  if (col.replace) {
    for (const r of col.replace) {
      const v = r.value(row)
      if (v !== null || sendNil) fields[r.name] = v
    }
  }
}

/** changed_cols: the columns whose value differs from the last emitted one (the first row: all of them). */
function projectChanged(col: Extract<Column, {kind: 'changed'}>, row: RowContext, fields: Record<string, unknown>, state: RuleState): void {
  const slots = state.forSlot(col.slot)
  let last = slots.get('') as Record<string, unknown> | undefined
  if (last === undefined) slots.set('', (last = {}))
  const check = (name: string, v: unknown): void => {
    if ((v === null || v === undefined) && col.ignoreNull) return
    const value = v ?? null
    const before = Object.prototype.hasOwnProperty.call(last, name) ? last[name] : undefined
    if (before !== undefined && (before === value || deepEqual(before, value))) return
    last[name] = value !== null && typeof value === 'object' ? structuredClone(value) : value
    if (value !== null) fields[col.prefix + name] = value
  }
  if (col.star) {
    const src = row.payload
    if (src !== null && typeof src === 'object' && !Array.isArray(src)) for (const [k, v] of Object.entries(src)) check(k, v)
  }
  for (const c of col.columns) check(c.name, c.value(row))
}
