import {compileExpression, parseRule, planRule, RuleState, type BoundExpr, type RowContext, type RulePlan} from '../../../src/pipeline/rule/index.js'

/** Plans `SELECT <expr> AS v FROM s` and returns the bound expression. */
export function bindExpr(expr: string, tail = ''): BoundExpr {
  const plan = planRule(parseRule(`SELECT ${expr} AS v FROM s ${tail}`))
  const p = plan.projections[0]
  if (p.kind !== 'expr') throw new Error('expected an expression projection')
  return p.expr
}

export function planOf(sql: string): RulePlan {
  return planRule(parseRule(sql))
}

export function row(payload: unknown, extra: Partial<RowContext> = {}): RowContext {
  return {payload, meta: {}, ...extra}
}

/** Evaluates an expression against one payload. */
export function evalExpr(expr: string, payload: unknown = {}, extra: Partial<RowContext> = {}): unknown {
  return compileExpression(bindExpr(expr), {context: {now: () => 1_700_000_000_000, randomUUID: () => '00000000-0000-4000-8000-000000000000'}})(row(payload, extra))
}

/** Evaluates a stateful expression over a sequence of rows with one shared state. */
export function evalSequence(expr: string, rows: RowContext[]): unknown[] {
  const f = compileExpression(bindExpr(expr), {state: new RuleState()})
  return rows.map((r) => f(r))
}
