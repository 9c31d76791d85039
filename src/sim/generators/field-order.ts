import {parseExpression, type ParsedExpression} from './expression.js'

/**
 * Which fields a derived field reads, and the order to evaluate a fleet's fields in: every field after the
 * fields it depends on, otherwise in declaration order (the payload keeps declaration order regardless).
 */

/** Names available to every expression besides the fleet's fields. */
export const EXPRESSION_BUILTINS: Record<string, string> = {
  $dt: 'seconds since the previous message of the device (0 for the first)',
  $t: 'seconds since the device\'s first message',
  $n: 'the message number (0, 1, 2, ...)',
  $mode: 'the device\'s current mode name',
  $prev: 'this derived field\'s previous value (0 for the first message), for accumulators',
}

export interface FieldLike {
  kind: string
  expr?: string
  /** Per-mode overrides; a derived field's may carry their own `expr`. */
  byMode?: Record<string, object>
}

export function rootOf(path: string): string {
  const dot = path.indexOf('.')
  return dot < 0 ? path : path.slice(0, dot)
}

/** Every expression a derived field may evaluate: its own `expr` and each mode's override, keyed by where it sits. */
export function expressionsOf(spec: FieldLike): Array<{mode?: string; expr: string}> {
  if (spec.kind !== 'derived') return []
  const out: Array<{mode?: string; expr: string}> = spec.expr === undefined ? [] : [{expr: spec.expr}]
  for (const [mode, override] of Object.entries(spec.byMode ?? {})) {
    if ('expr' in override && typeof override.expr === 'string') out.push({mode, expr: override.expr})
  }
  return out
}

/**
 * Field names a derived field depends on in any mode (built-ins excluded), so the evaluation order holds whichever
 * mode the device is in. Throws ExpressionError on a syntax error.
 */
export function dependenciesOf(spec: FieldLike): string[] {
  const names = expressionsOf(spec).flatMap(({expr}) => {
    const parsed: ParsedExpression = parseExpression(expr)
    return parsed.refs.map((r) => rootOf(r.path)).filter((name) => !name.startsWith('$'))
  })
  return [...new Set(names)]
}

/**
 * Finds a cycle among fields; returns it as a path that starts and ends with the same name
 * (`['power', 'energy', 'power']`), or undefined. `deps` holds only known field names.
 */
export function findCycle(order: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, 'visiting')
    stack.push(name)
    for (const d of deps.get(name) ?? []) {
      const cycle = visit(d)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(name, 'done')
    return undefined
  }
  for (const name of order) {
    const cycle = visit(name)
    if (cycle) return cycle
  }
  return undefined
}

/** Evaluation order: dependencies first, declaration order otherwise. Assumes no cycle (checked at load). */
export function evaluationOrder(order: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  const visit = (name: string): void => {
    if (seen.has(name)) return
    seen.add(name)
    for (const d of deps.get(name) ?? []) visit(d)
    out.push(name)
  }
  for (const name of order) visit(name)
  return out
}
