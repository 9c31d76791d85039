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
import type {FunctionContext, StatefulInstance} from './functions/types.js'
import type {BoundExpr, PathStep} from './plan-types.js'
import type {RowContext} from './row-context.js'
import {compareValues, finiteOrNull, sqlEquals, truth} from './values.js'
import {randomUUID} from 'node:crypto'

export type Evaluator = (row: RowContext) => unknown
export type Predicate = (row: RowContext) => boolean

/** State of a rule's stateful call sites: one map per slot, from key to that key's state. */
export class RuleState {
  private readonly slots: Map<unknown, StatefulInstance>[] = []
  /** Call sites compiled per slot; a slot used by several sites steps once per row (see compileStateful). */
  readonly sites: number[] = []
  /** Per shared slot: the row object last evaluated and its value. */
  readonly lastEval: {row: unknown; value: unknown}[] = []

  /** Per slot: how its instances are made (set by the compiler), so a checkpoint can be restored into real instances. */
  readonly factories: (() => StatefulInstance)[] = []

  /** Every key's state as plain data (each instance's own fields) for a checkpoint. */
  snapshot(): [number, [unknown, Record<string, unknown>][]][] {
    const out: [number, [unknown, Record<string, unknown>][]][] = []
    this.slots.forEach((m, slot) => {
      if (m) out.push([slot, [...m].map(([k, inst]) => [k, {...(inst as unknown as Record<string, unknown>)}])])
    })
    return out
  }

  /** Fills the slots of a freshly compiled rule from `snapshot` data; slots the rule no longer has are ignored. */
  restore(data: [number, [unknown, Record<string, unknown>][]][]): void {
    for (const [slot, entries] of data) {
      const make = this.factories[slot]
      if (!make) continue
      const m = this.forSlot(slot)
      for (const [k, fields] of entries) m.set(k, Object.assign(make(), fields))
    }
  }

  forSlot(slot: number): Map<unknown, StatefulInstance> {
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
  }
}

export interface CompileEnv {
  /** Clock and UUID source for now(), tstamp(), newuuid(); defaults to the system's. */
  context?: Partial<FunctionContext>
  /** Where stateful functions keep per-key state; share one per rule. Defaults to a private one. */
  state?: RuleState
}

interface Compiler {
  ctx: FunctionContext
  state: RuleState
}

/** Compiles an expression to a closure returning its SQL value (null for unknown, never undefined). */
export function compileExpression(expr: BoundExpr, env: CompileEnv = {}): Evaluator {
  return compileNode(expr, makeCompiler(env))
}

/** Compiles a condition: true passes, false and null (unknown) do not. */
export function compilePredicate(expr: BoundExpr, env: CompileEnv = {}): Predicate {
  return predicateOf(compileNode(expr, makeCompiler(env)))
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
    case 'stateful':
      return compileStateful(e, c)
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
  if (typeof s === 'number') {
    if (!Array.isArray(v)) return undefined
    return v[s < 0 ? v.length + s : s]
  }
  return Array.isArray(v) ? undefined : (v as Record<string, unknown>)[s]
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

function compileStateful(e: Extract<BoundExpr, {kind: 'stateful'}>, c: Compiler): Evaluator {
  const args = e.args.map((a) => compileNode(a, c))
  const n = args.length
  const buf: unknown[] = new Array<unknown>(n).fill(null)
  const states = c.state.forSlot(e.slot)
  const spec = e.spec
  const consts = e.consts
  const keyOf = compilePartitionKey(e.partitionBy, c)
  const slot = e.slot
  c.state.factories[slot] ??= () => spec.create(consts)
  const sites = c.state.sites
  sites[slot] = (sites[slot] ?? 0) + 1
  const last = (c.state.lastEval[slot] ??= {row: undefined, value: null})
  return (row) => {
    // Several call sites of one slot (WHERE and SELECT) see the same row object for one event: step once, reuse the
    // value. The runtime makes a fresh RowContext per event; a single site never caches, so reused contexts work.
    const shared = sites[slot] > 1
    if (shared && last.row === row) return last.value
    const key = keyOf(row)
    let state = states.get(key)
    if (state === undefined) {
      state = spec.create(consts)
      states.set(key, state)
    }
    for (let i = 0; i < n; i++) {
      const v = args[i](row)
      buf[i] = v === undefined ? null : v
    }
    const out = state.step(buf)
    const value = out === undefined ? null : out
    if (shared) {
      last.row = row
      last.value = value
    }
    return value
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
