/**
 * A whole plan compiled once: the closures the runtime and the window operator call per event and per window.
 * The window operator owns window state; this module only says how to evaluate each part of the rule.
 */
import {compileNode, makeCompiler, predicateOf, type CompileEnv, type Evaluator, type Predicate, RuleState} from './compile.js'
import type {Accumulator} from './functions/types.js'
import type {AggregatePlan, RulePlan} from './plan-types.js'
import type {RowContext} from './row-context.js'

export interface CompiledAggregate {
  plan: AggregatePlan
  /** The per-row value to add(); count(*) adds the constant 1. */
  value: Evaluator
  create(): Accumulator
}

export interface CompiledRule {
  plan: RulePlan
  state: RuleState
  where?: Predicate
  /** FILTER (WHERE …) of the window */
  filter?: Predicate
  /** OVER (WHEN …) of a sliding window */
  over?: Predicate
  joinOn: Predicate[]
  groupKeys: Evaluator[]
  aggregates: CompiledAggregate[]
  having?: Predicate
  /** Builds one output row. For aggregating rules `row` is the window's last row with aggregates and window set. */
  project(row: RowContext): Record<string, unknown>
}

export function compileRule(plan: RulePlan, env: CompileEnv = {}): CompiledRule {
  const state = env.state ?? new RuleState()
  const c = makeCompiler({...env, state})
  const pred = (e: Parameters<typeof compileNode>[0] | undefined): Predicate | undefined => (e ? predicateOf(compileNode(e, c)) : undefined)
  const window = plan.window
  const columns = plan.projections.map((p) => (p.kind === 'expr' ? {name: p.name, value: compileNode(p.expr, c)} : p))
  const one = (): unknown => 1
  return {
    plan,
    state,
    where: pred(plan.where),
    filter: pred(window?.filter),
    over: pred(window?.kind === 'sliding' ? window.over : undefined),
    joinOn: plan.joins.map((j) => predicateOf(compileNode(j.on, c))),
    groupKeys: plan.groupKeys.map((k) => compileNode(k.expr, c)),
    aggregates: plan.aggregates.map((a) => ({
      plan: a,
      value: a.arg ? compileNode(a.arg, c) : one,
      create: () => a.spec.create(a.consts, a.star),
    })),
    having: pred(plan.having),
    project(row) {
      const out: Record<string, unknown> = {}
      for (const col of columns) {
        if ('value' in col) {
          out[col.name] = col.value(row)
        } else {
          const src = col.from === 'payload' ? row.payload : row.tables?.[col.from.table]
          if (src !== null && typeof src === 'object' && !Array.isArray(src)) Object.assign(out, src)
        }
      }
      return out
    },
  }
}
