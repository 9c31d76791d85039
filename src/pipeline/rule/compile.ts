/**
 * Bound expression -> JavaScript closure. Each node becomes one small closure over its children's closures, built
 * once per rule; nothing is parsed or looked up by name per event, and the common paths allocate nothing.
 * No user text is ever turned into code (no eval, no new Function): LIKE patterns become RegExps built from
 * escaped literal text.
 *
 * SQL semantics: null (and a missing field) propagates through arithmetic and comparisons; AND/OR/NOT are
 * three-valued; a predicate (WHERE, FILTER, HAVING, ON) passes only on true. Numbers compare numerically and
 * strings as strings; values of different types are unequal and unordered. Division by zero gives null.
 */
import type {ArithmeticOp, ComparisonOp} from './ast.js'
import type {ConstArgs, FunctionContext, StatefulFunctionSpec} from './functions/types.js'
import type {AnalyticPlan, BoundExpr, PathStep} from './plan-types.js'
import {forEachChild} from './plan.js'
import type {RowContext} from './row-context.js'
import {compareValues, finiteOrNull, sqlEquals, truth} from './values.js'
import {randomUUID} from 'node:crypto'

export type Evaluator = (row: RowContext) => unknown
export type Predicate = (row: RowContext) => boolean

/**
 * State of a rule's analytic call sites: one map per slot, from partition key to that key's state. Every state is a
 * plain JSON-serialisable object (numbers, strings, arrays, plain objects), so `entries()` can be checkpointed and
 * `restore()` can bring it back.
 */
export class RuleState {
  private readonly slots: Map<unknown, unknown>[] = []
  /** Changes when clear() or restore() replace states, so callers that cached states look them up again. */
  generation = 0

  forSlot(slot: number): Map<unknown, unknown> {
    let m = this.slots[slot]
    if (!m) this.slots[slot] = m = new Map()
    return m
  }

  /** Number of keys holding state, over all slots (for metrics and memory checks). */
  size(): number {
    let n = 0
    for (const m of this.slots) if (m) n += m.size
    return n
  }

  clear(): void {
    this.slots.length = 0
    this.generation++
  }

  /** Every key's state per slot, copied (the states are plain data), for a checkpoint. */
  snapshot(): [number, [unknown, unknown][]][] {
    const out: [number, [unknown, unknown][]][] = []
    this.slots.forEach((m, slot) => {
      if (m) out.push([slot, [...m].map(([k, state]) => [k, structuredClone(state)])])
    })
    return out
  }

  /** Fills the slots from `snapshot()` data (possibly through JSON); a restored state is used as it is. */
  restore(data: readonly (readonly [number, readonly (readonly [unknown, unknown])[]])[]): void {
    this.generation++
    for (const [slot, entries] of data) {
      const m = this.forSlot(slot)
      for (const [k, state] of entries) m.set(k, structuredClone(state))
    }
  }
}

export interface CompileEnv {
  /** Clock and UUID source for now(), tstamp(), newuuid(); defaults to the system's. */
  context?: Partial<FunctionContext>
  /** Where stateful functions keep per-key state; share one per rule. Defaults to a private one. */
  state?: RuleState
}

export interface Compiler {
  ctx: FunctionContext
  state: RuleState
}

/**
 * Compiles an expression to a closure returning its SQL value (null for unknown, never undefined). Analytic calls in
 * it step first, on every evaluation, whatever the logic around them would skip (eKuiper's model).
 */
export function compileExpression(expr: BoundExpr, env: CompileEnv = {}): Evaluator {
  const c = makeCompiler(env)
  const f = compileNode(expr, c)
  const analytics = analyticsOf(expr)
  if (analytics.length === 0) return f
  const step = compileAnalytics(analytics, c)
  return (row) => {
    step(row)
    return f(row)
  }
}

/** Compiles a condition: true passes, false and null (unknown) do not. */
export function compilePredicate(expr: BoundExpr, env: CompileEnv = {}): Predicate {
  return predicateOf(compileExpression(expr, env))
}

/** The analytic calls inside an expression, inner ones first, each slot once. */
export function analyticsOf(expr: BoundExpr): AnalyticPlan[] {
  const out: AnalyticPlan[] = []
  const seen = new Set<number>()
  const visit = (e: BoundExpr): void => {
    forEachChild(e, visit)
    if (e.kind === 'stateful' && !seen.has(e.slot)) {
      seen.add(e.slot)
      out.push({...e, phase: 'row'})
    }
  }
  visit(expr)
  return out
}

/**
 * One closure that steps the given analytic calls for a row, in order, and stores their values in
 * `row.analytic[slot]`, where the expressions read them. A call whose OVER (WHEN …) is not true leaves its state
 * alone and gives what its function says for a skipped row (lag: the current lag; latest: the saved value).
 *
 * Calls under the same partition (the usual case: `lag(t) OVER (PARTITION BY id)` and `zscore(t, 60) OVER
 * (PARTITION BY id)`, or none) evaluate the key once per row and find all their states with one lookup: a per-key
 * array of the calls' states, which are the same objects RuleState keeps per slot (checkpoints see them there).
 */
export function compileAnalytics(analytics: readonly AnalyticPlan[], c: Compiler): (row: RowContext) => void {
  const n = analytics.length
  if (n === 0) return () => {}
  const width = analytics.reduce((m, a) => Math.max(m, a.slot + 1), 0)
  // Grouping reorders calls only across partitions; a call that reads another call's value keeps the plain order.
  const nested = analytics.some((a) => [...a.args, ...(a.when ? [a.when] : []), ...(a.partitionBy ?? [])].some((x) => analyticsOf(x).length > 0))
  const groups = new Map<string, AnalyticPlan[]>()
  analytics.forEach((a, i) => {
    const k = nested ? String(i) : canonicalText(a.partitionBy)
    const g = groups.get(k)
    if (g) g.push(a)
    else groups.set(k, [a])
  })
  const steps = [...groups.values()].map((g) => compileGroup(g, c))
  const m = steps.length
  return (row) => {
    if (row.analytic === undefined) row.analytic = new Array<unknown>(width)
    for (let i = 0; i < m; i++) steps[i](row)
  }
}


interface Member {
  spec: StatefulFunctionSpec
  consts: ConstArgs
  slot: number
  /** Per argument that is not a literal: its position and the group's value index (see compileGroup). */
  args: {at: number; value: number}[]
  buf: unknown[]
  when: Predicate | undefined
  states: Map<unknown, unknown>
}

function compileGroup(group: readonly AnalyticPlan[], c: Compiler): (row: RowContext) => void {
  const keyOf = compilePartitionKey(group[0].partitionBy, c)
  // An argument several calls share (`lag(t)` and `zscore(t, 60)`) is evaluated once per row.
  const values: Evaluator[] = []
  const valueIndex = new Map<string, number>()
  const members: Member[] = group.map((a) => {
    const buf = new Array<unknown>(a.args.length).fill(null)
    const args: {at: number; value: number}[] = []
    a.args.forEach((x, at) => {
      // A literal argument (zscore's n, lag's default) is the same on every row: set once.
      if (x.kind === 'literal') {
        buf[at] = x.value ?? null
        return
      }
      const text = canonicalText(x)
      let value = valueIndex.get(text)
      if (value === undefined) {
        value = values.push(compileNode(x, c)) - 1
        valueIndex.set(text, value)
      }
      args.push({at, value})
    })
    return {spec: a.spec, consts: a.consts, slot: a.slot, args, buf, when: a.when ? predicateOf(compileNode(a.when, c)) : undefined, states: c.state.forSlot(a.slot)}
  })
  const size = members.length
  const nValues = values.length
  const current = new Array<unknown>(nValues).fill(null)
  const state = c.state
  let byKey = new Map<unknown, unknown[]>()
  let generation = state.generation
  return (row) => {
    // A restore or clear replaced the per-slot states: find them again.
    if (state.generation !== generation) {
      byKey = new Map()
      generation = state.generation
    }
    const key = keyOf(row)
    let bundle = byKey.get(key)
    if (bundle === undefined) {
      bundle = new Array<unknown>(size)
      byKey.set(key, bundle)
    }
    for (let i = 0; i < nValues; i++) {
      const v = values[i](row)
      current[i] = v === undefined ? null : v
    }
    const out = row.analytic as unknown[]
    for (let j = 0; j < size; j++) {
      const mb = members[j]
      const buf = mb.buf
      const args = mb.args
      for (let i = 0; i < args.length; i++) buf[args[i].at] = current[args[i].value]
      let s = bundle[j]
      if (s === undefined) {
        s = mb.states.get(key)
        if (s === undefined) {
          s = mb.spec.init(mb.consts, buf)
          mb.states.set(key, s)
        }
        bundle[j] = s
      }
      const spec = mb.spec
      const v = mb.when === undefined || mb.when(row) ? spec.step(s, buf, mb.consts) : spec.skip ? spec.skip(s, buf, mb.consts) : null
      out[mb.slot] = v === undefined ? null : v
    }
  }
}

/** An expression as text without positions: equal texts are the same computation. */
function canonicalText(e: unknown): string {
  return JSON.stringify(e ?? [], (k, v: unknown) => (k === 'loc' || k === 'spec' ? undefined : v))
}

export function makeCompiler(env: CompileEnv): Compiler {
  return {
    ctx: {now: env.context?.now ?? Date.now, randomUUID: env.context?.randomUUID ?? randomUUID},
    state: env.state ?? new RuleState(),
  }
}

export function predicateOf(f: Evaluator): Predicate {
  return (row) => {
    const v = f(row)
    return v === true || (v !== false && v !== null && v !== undefined && Boolean(v))
  }
}

export function compileNode(e: BoundExpr, c: Compiler): Evaluator {
  switch (e.kind) {
    case 'literal': {
      const v = e.value
      return () => v
    }
    case 'field':
      return compileFieldAccess(e.path)
    case 'tableField': {
      const table = e.table
      const read = compilePath(e.path)
      return (row) => {
        const t = row.tables?.[table]
        return t === null || t === undefined ? null : read(t)
      }
    }
    case 'meta': {
      if (e.key === '*') return (row) => row.meta ?? null
      const key = e.key
      return (row) => {
        const v = row.meta?.[key]
        return v === undefined ? null : v
      }
    }
    case 'access': {
      const target = compileNode(e.target, c)
      const read = compilePath(e.path)
      return (row) => read(target(row))
    }
    case 'negate': {
      const f = compileNode(e.operand, c)
      return (row) => {
        const v = f(row)
        return typeof v === 'number' ? -v : null
      }
    }
    case 'not': {
      const f = compileNode(e.operand, c)
      return (row) => {
        const t = truth(f(row))
        return t === null ? null : !t
      }
    }
    case 'arithmetic':
      return compileArithmetic(e.op, compileNode(e.left, c), compileNode(e.right, c))
    case 'compare':
      return compileComparison(e.op, e.left, e.right, c)
    case 'logical': {
      const l = compileNode(e.left, c)
      const r = compileNode(e.right, c)
      if (e.op === 'and') {
        return (row) => {
          const a = truth(l(row))
          if (a === false) return false
          const b = truth(r(row))
          if (b === false) return false
          return a === null || b === null ? null : true
        }
      }
      return (row) => {
        const a = truth(l(row))
        if (a === true) return true
        const b = truth(r(row))
        if (b === true) return true
        return a === null || b === null ? null : false
      }
    }
    case 'in':
      return compileIn(e.operand, e.list, e.negated, c)
    case 'between': {
      const x = compileNode(e.operand, c)
      const lo = compileNode(e.low, c)
      const hi = compileNode(e.high, c)
      const negated = e.negated
      return (row) => {
        const v = x(row)
        const a = compareValues(v, lo(row))
        const b = compareValues(v, hi(row))
        // As `v >= lo AND v <= hi` in three-valued logic: a definite false on either side wins over unknown.
        if ((a !== null && a < 0) || (b !== null && b > 0)) return negated
        if (a === null || b === null) return null
        return !negated
      }
    }
    case 'like':
      return compileLike(e.operand, e.pattern, e.negated, c)
    case 'isNull': {
      const f = compileNode(e.operand, c)
      const negated = e.negated
      return (row) => {
        const v = f(row)
        return (v === null || v === undefined) !== negated
      }
    }
    case 'case':
      return compileCase(e, c)
    case 'call':
      return compileCall(e, c)
    case 'stateful': {
      // Stepped before the row is evaluated (compileAnalytics); here only read.
      const slot = e.slot
      return (row) => {
        const v = row.analytic?.[slot]
        return v === undefined ? null : v
      }
    }
    case 'aggregate': {
      const index = e.index
      return (row) => {
        const v = row.aggregates?.[index]
        return v === undefined ? null : v
      }
    }
    case 'windowBound':
      return e.bound === 'start' ? (row) => row.window?.start ?? null : (row) => row.window?.end ?? null
  }
}

// ------------------------------------------------------------------ paths

function step(v: unknown, s: PathStep): unknown {
  if (v === null || typeof v !== 'object') return undefined
  if (typeof s === 'object') return Array.isArray(v) ? sliceOf(v, s.from, s.to) : undefined
  if (typeof s === 'number') {
    if (!Array.isArray(v)) return undefined
    return v[s < 0 ? v.length + s : s]
  }
  return Array.isArray(v) ? undefined : (v as Record<string, unknown>)[s]
}

/** `a[from:to]`: end exclusive, negative bounds count from the end, missing bounds are the ends (eKuiper). */
function sliceOf(v: readonly unknown[], from: number | undefined, to: number | undefined): unknown[] {
  const n = v.length
  const a = from === undefined ? 0 : from < 0 ? Math.max(0, n + from) : Math.min(from, n)
  const b = to === undefined ? n : to < 0 ? Math.max(0, n + to) : Math.min(to, n)
  return v.slice(a, Math.max(a, b))
}

/** A reader for a fixed path; one- and two-step paths (nearly all of them) get a closure without a loop. */
export function compilePath(path: readonly PathStep[]): (root: unknown) => unknown {
  if (path.length === 1) {
    const s0 = path[0]
    if (typeof s0 === 'string') {
      return (root) => {
        if (root === null || typeof root !== 'object' || Array.isArray(root)) return null
        const v = (root as Record<string, unknown>)[s0]
        return v === undefined ? null : v
      }
    }
  }
  if (path.length === 2) {
    const [s0, s1] = path
    return (root) => {
      const v = step(step(root, s0), s1)
      return v === undefined ? null : v
    }
  }
  const steps = [...path]
  return (root) => {
    let v: unknown = root
    for (let i = 0; i < steps.length && v !== undefined; i++) v = step(v, steps[i])
    return v === undefined ? null : v
  }
}

function compileFieldAccess(path: readonly PathStep[]): Evaluator {
  if (path.length === 0) return (row) => row.payload ?? null
  if (path.length === 1 && typeof path[0] === 'string') {
    const name = path[0]
    return (row) => {
      const p = row.payload
      if (p === null || typeof p !== 'object') return null
      const v = (p as Record<string, unknown>)[name]
      return v === undefined ? null : v
    }
  }
  const read = compilePath(path)
  return (row) => read(row.payload)
}

// ------------------------------------------------------------------ operators

function compileArithmetic(op: ArithmeticOp, l: Evaluator, r: Evaluator): Evaluator {
  switch (op) {
    case '+':
      return (row) => {
        const a = l(row)
        const b = r(row)
        return typeof a === 'number' && typeof b === 'number' ? finiteOrNull(a + b) : null
      }
    case '-':
      return (row) => {
        const a = l(row)
        const b = r(row)
        return typeof a === 'number' && typeof b === 'number' ? finiteOrNull(a - b) : null
      }
    case '*':
      return (row) => {
        const a = l(row)
        const b = r(row)
        return typeof a === 'number' && typeof b === 'number' ? finiteOrNull(a * b) : null
      }
    case '/':
      return (row) => {
        const a = l(row)
        const b = r(row)
        return typeof a === 'number' && typeof b === 'number' && b !== 0 ? finiteOrNull(a / b) : null
      }
    case '%':
      return (row) => {
        const a = l(row)
        const b = r(row)
        return typeof a === 'number' && typeof b === 'number' && b !== 0 ? finiteOrNull(a % b) : null
      }
  }
}

function compileComparison(op: ComparisonOp, left: BoundExpr, right: BoundExpr, c: Compiler): Evaluator {
  const l = compileNode(left, c)
  // `temp > 30`: the shape of most WHERE clauses gets a closure with the constant inlined.
  if (right.kind === 'literal' && typeof right.value === 'number') {
    const k = right.value
    switch (op) {
      case '>':
        return (row) => {
          const a = l(row)
          return typeof a === 'number' ? a > k : a === null || a === undefined ? null : ordered(compareValues(a, k), op)
        }
      case '>=':
        return (row) => {
          const a = l(row)
          return typeof a === 'number' ? a >= k : a === null || a === undefined ? null : ordered(compareValues(a, k), op)
        }
      case '<':
        return (row) => {
          const a = l(row)
          return typeof a === 'number' ? a < k : a === null || a === undefined ? null : ordered(compareValues(a, k), op)
        }
      case '<=':
        return (row) => {
          const a = l(row)
          return typeof a === 'number' ? a <= k : a === null || a === undefined ? null : ordered(compareValues(a, k), op)
        }
      default:
        break
    }
  }
  const r = compileNode(right, c)
  switch (op) {
    case '=':
      return (row) => sqlEquals(l(row), r(row))
    case '!=':
      return (row) => {
        const eq = sqlEquals(l(row), r(row))
        return eq === null ? null : !eq
      }
    default:
      return (row) => {
        const a = l(row)
        const b = r(row)
        if (typeof a === 'number' && typeof b === 'number') return numeric(a, b, op)
        if (a === null || a === undefined || b === null || b === undefined) return null
        return ordered(compareValues(a, b), op)
      }
  }
}

function numeric(a: number, b: number, op: ComparisonOp): boolean | null {
  if (Number.isNaN(a) || Number.isNaN(b)) return null
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b
}

function ordered(cmp: number | null, op: ComparisonOp): boolean | null {
  if (cmp === null) return null
  switch (op) {
    case '<':
      return cmp < 0
    case '<=':
      return cmp <= 0
    case '>':
      return cmp > 0
    case '>=':
      return cmp >= 0
    case '=':
      return cmp === 0
    case '!=':
      return cmp !== 0
  }
}

function compileIn(operand: BoundExpr, list: readonly BoundExpr[], negated: boolean, c: Compiler): Evaluator {
  const x = compileNode(operand, c)
  const allLiteral = list.every((e) => e.kind === 'literal')
  if (allLiteral) {
    // A Set of the literals: O(1) per row however long the list. SameValueZero keeps 1 and '1' apart.
    const values = new Set<unknown>()
    let hasNull = false
    for (const e of list) {
      const v = e.kind === 'literal' ? e.value : null
      if (v === null) hasNull = true
      else values.add(v)
    }
    return (row) => {
      const v = x(row)
      if (v === null || v === undefined) return null
      if (values.has(v)) return !negated
      return hasNull ? null : negated
    }
  }
  const items = list.map((e) => compileNode(e, c))
  return (row) => {
    const v = x(row)
    if (v === null || v === undefined) return null
    let unknown = false
    for (let i = 0; i < items.length; i++) {
      const eq = sqlEquals(v, items[i](row))
      if (eq === true) return !negated
      if (eq === null) unknown = true
    }
    return unknown ? null : negated
  }
}

/** LIKE pattern -> anchored RegExp: `%` any run, `_` one character, `\` escapes the next character. */
export function likeToRegExp(pattern: string): RegExp {
  let src = '^'
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '\\' && i + 1 < pattern.length) src += escapeRegExp(pattern[++i])
    else if (ch === '%') src += '[\\s\\S]*'
    else if (ch === '_') src += '[\\s\\S]'
    else src += escapeRegExp(ch)
  }
  return new RegExp(`${src}$`, 'u')
}

function escapeRegExp(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch
}

function compileLike(operand: BoundExpr, pattern: BoundExpr, negated: boolean, c: Compiler): Evaluator {
  const x = compileNode(operand, c)
  if (pattern.kind === 'literal') {
    if (typeof pattern.value !== 'string') return () => null
    const text = pattern.value
    // `'acme/%'` is a prefix test; no RegExp needed.
    const prefix = /^[^%_\\]*%$/.test(text) ? text.slice(0, -1) : undefined
    if (prefix !== undefined) {
      return (row) => {
        const v = x(row)
        return typeof v === 'string' ? v.startsWith(prefix) !== negated : null
      }
    }
    const re = likeToRegExp(text)
    return (row) => {
      const v = x(row)
      return typeof v === 'string' ? re.test(v) !== negated : null
    }
  }
  const p = compileNode(pattern, c)
  let lastPattern: string | undefined
  let lastRe: RegExp | undefined
  return (row) => {
    const v = x(row)
    const pat = p(row)
    if (typeof v !== 'string' || typeof pat !== 'string') return null
    if (pat !== lastPattern || lastRe === undefined) {
      lastRe = likeToRegExp(pat)
      lastPattern = pat
    }
    return lastRe.test(v) !== negated
  }
}

function compileCase(e: Extract<BoundExpr, {kind: 'case'}>, c: Compiler): Evaluator {
  const whens = e.whens.map((w) => compileNode(w.when, c))
  const thens = e.whens.map((w) => compileNode(w.then, c))
  const otherwise = e.else ? compileNode(e.else, c) : () => null
  const n = whens.length
  if (e.operand) {
    const subject = compileNode(e.operand, c)
    return (row) => {
      const v = subject(row)
      for (let i = 0; i < n; i++) if (sqlEquals(v, whens[i](row)) === true) return thens[i](row)
      return otherwise(row)
    }
  }
  return (row) => {
    for (let i = 0; i < n; i++) if (truth(whens[i](row)) === true) return thens[i](row)
    return otherwise(row)
  }
}

// ------------------------------------------------------------------ functions

function compileCall(e: Extract<BoundExpr, {kind: 'call'}>, c: Compiler): Evaluator {
  const {spec} = e
  const args = e.args.map((a) => compileNode(a, c))
  const n = args.length
  // One argument buffer per call site, refilled on every row: calls allocate nothing themselves.
  const buf: unknown[] = new Array<unknown>(n).fill(null)
  const ctx = c.ctx
  const impl = spec.impl
  const nullSafe = spec.nullSafe === true
  return (row) => {
    for (let i = 0; i < n; i++) {
      const v = args[i](row)
      if (v === null || v === undefined) {
        if (!nullSafe) return null
        buf[i] = null
      } else buf[i] = v
    }
    const out = impl(buf, ctx)
    return out === undefined ? null : out
  }
}

/** One partition expression keys by its value; several by their values joined (objects by their JSON). */
function compilePartitionKey(partitionBy: readonly BoundExpr[] | undefined, c: Compiler): Evaluator {
  if (!partitionBy || partitionBy.length === 0) return (row) => row.key ?? null
  const parts = partitionBy.map((p) => compileNode(p, c))
  if (parts.length === 1) {
    const only = parts[0]
    return (row) => keyPart(only(row))
  }
  return (row) => {
    let key = ''
    for (let i = 0; i < parts.length; i++) key += `${i ? '\u0001' : ''}${String(keyPart(parts[i](row)))}`
    return key
  }
}

function keyPart(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : v ?? null
}

