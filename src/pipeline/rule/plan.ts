/**
 * AST -> plan: resolves names (stream fields, joined tables, output aliases), checks every function call against
 * the registry, pulls aggregate calls out into numbered accumulators, converts the window to milliseconds and
 * reports every problem it finds at once, each at its place in the rule.
 */
import type {Accessor, CallExpr, Expr, LiteralExpr, RuleAst, SourceSpan, WindowClause} from './ast.js'
import {closestName} from '../../config/did-you-mean.js'
import {findFilterFault} from '../../net/topic-rules.js'
import {RulePlanError, type RuleProblem} from './errors.js'
import {TIME_UNITS_MS, WINDOW_CALLS, WINDOW_KINDS, windowKind} from '../window/index.js'
import {FunctionRegistry, defaultFunctionRegistry} from './functions/registry.js'
import type {ConstArgs, FunctionSpec, ParamSpec} from './functions/types.js'
import {
  META_KEYS,
  type AggregatePlan,
  type AnalyticPlan,
  type BoundExpr,
  type GroupKeyPlan,
  type JoinPlan,
  type MetaKey,
  type PathStep,
  type ProjectionPlan,
  type RulePlan,
  type SourcePlan,
  type WindowPlan,
} from './plan-types.js'

export interface PlanOptions {
  functions?: FunctionRegistry
  /** Lookup tables the pipeline declares; when given, JOINs must name one of them. */
  tables?: readonly string[]
  /** Sources the pipeline declares; when given, `FROM name` must name one of them. */
  sources?: readonly string[]
  /** Columns of each declared table (from its file's header): a column a rule names must be one of them. */
  tableColumns?: Readonly<Record<string, readonly string[]>>
  /** Payload fields known from the pipeline (a source's timestamp/key field, CSV columns): double-quote checks. */
  knownFields?: readonly string[]
}

/** Where an expression sits decides what it may contain. */
type Clause = 'where' | 'filter' | 'over' | 'on' | 'group key' | 'partition' | 'select' | 'having' | 'order' | 'aggregate'

const AGGREGATES_ALLOWED: ReadonlySet<Clause> = new Set(['select', 'having', 'order'])
const WINDOW_BOUNDS_ALLOWED: ReadonlySet<Clause> = new Set(['select', 'having', 'order'])

/** Canonical text of a bound expression, ignoring positions: equal calls share one aggregate. */
function canonical(e: unknown): string {
  return JSON.stringify(e, (k, v: unknown) => (k === 'loc' || k === 'spec' ? undefined : v))
}

function pathSteps(path: readonly Accessor[]): PathStep[] {
  return path.map((a) => (a.kind === 'index' ? a.index : a.kind === 'slice' ? {from: a.from, to: a.to} : a.name))
}

export function formatPath(path: readonly PathStep[]): string {
  let out = ''
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`
    else if (typeof step === 'object') out += `[${step.from ?? ''}:${step.to ?? ''}]`
    else out += out === '' ? step : `.${step}`
  }
  return out
}

class Planner {
  readonly problems: RuleProblem[] = []
  readonly warnings: RuleProblem[] = []
  readonly aggregates: AggregatePlan[] = []
  private readonly aggregateIndex = new Map<string, number>()
  private statefulSlots = 0
  private readonly statefulIndex = new Map<string, number>()
  private readonly fields = new Set<string>()
  private readonly topLevelFields = new Set<string>()
  private readonly tableFields = new Map<string, Set<string>>()
  private readonly meta = new Set<string>()
  private usesWindowBounds = false
  /** Output aliases visible to HAVING and ORDER BY. */
  private aliasExprs = new Map<string, BoundExpr>()
  private streamNames = new Set<string>()
  private tableAliases = new Map<string, string>()
  private windowed = false
  /** A GROUP BY key is a call whose name is a slip of a window's (TUMBLINGWINDW): the typo is the one error. */
  private misspeltWindow = false
  readonly analytics: AnalyticPlan[] = []
  /** SELECT aliases (name -> the aliased expression as written), known before any clause is bound. */
  private selectAliases = new Map<string, Expr>()
  /** Aliases of earlier SELECT columns, visible to later ones (`sum(a) AS s1, s1 + 1 AS s2`, as eKuiper). */
  private earlierAliases = new Map<string, BoundExpr>()
  private readonly doubleQuoted: LiteralExpr[] = []

  constructor(private readonly functions: FunctionRegistry, private readonly options: PlanOptions) {}

  error(loc: SourceSpan, message: string): void {
    this.problems.push({line: loc.line, col: loc.col, offset: loc.offset, message})
  }

  warn(loc: SourceSpan, message: string): void {
    this.warnings.push({line: loc.line, col: loc.col, offset: loc.offset, message})
  }

  plan(ast: RuleAst): RulePlan {
    for (const f of ast.fields) if (f.kind === 'field' && f.alias) this.selectAliases.set(f.alias, f.expr)
    const source = this.planSource(ast)
    const joins = ast.joins.map((j) => this.planJoinScope(j))
    this.windowed = ast.groupBy?.window !== undefined
    const boundJoins: JoinPlan[] = joins.map((j, i) => ({...j, on: this.bind(ast.joins[i].on, 'on')}))
    const where = ast.where ? this.bind(ast.where, 'where') : undefined
    const window = ast.groupBy?.window ? this.planWindow(ast.groupBy.window) : undefined
    const groupKeys: GroupKeyPlan[] = (ast.groupBy?.keys ?? []).map((k) => ({name: defaultName(k) ?? formatExpr(k), expr: this.bind(k, 'group key')}))
    const projections = this.planProjections(ast)
    const aggregating = this.aggregates.length > 0 || ast.groupBy !== undefined
    const having = ast.having ? this.bind(ast.having, 'having') : undefined
    const orderBy = (ast.orderBy ?? []).map((o) => ({expr: this.bind(o.expr, 'order'), direction: o.direction}))

    // A window that is written but wrong (or misspelt) has its own error; "needs a window" on top of it would only
    // mislead.
    if (!window && !ast.groupBy?.window && !this.misspeltWindow) {
      if (ast.groupBy) this.error(ast.groupBy.loc, 'GROUP BY on a stream needs a window: add e.g. TUMBLINGWINDOW(ss, 10) to the GROUP BY list')
      for (const a of this.aggregates) {
        this.error(a.loc, `aggregate ${a.name}() needs a window: add GROUP BY TUMBLINGWINDOW(ss, 10) or another window`)
      }
      if (ast.having) this.error(ast.having.loc, 'HAVING needs GROUP BY with a window')
      if (ast.orderBy) this.error(ast.orderBy[0].loc, 'ORDER BY needs a window: without one each event emits its own row, so there is nothing to sort (add GROUP BY TUMBLINGWINDOW(ss, 10), or remove ORDER BY)')
      if (ast.limit !== undefined) this.error(limitLoc(ast), 'LIMIT needs a window: without one each event emits its own row (add GROUP BY TUMBLINGWINDOW(ss, 10), or filter with WHERE)')
    }
    this.checkDoubleQuoted(ast)
    const lastValueColumns = aggregating && !(window !== undefined && this.aggregates.length === 0 && groupKeys.length === 0) ? this.checkUngroupedColumns(projections, groupKeys) : []
    const emitsEveryRow = window !== undefined && this.aggregates.length === 0 && groupKeys.length === 0
    if (aggregating && !emitsEveryRow && projections.some((p) => p.kind === 'star')) {
      this.warn(projections.find((p) => p.kind === 'star')?.loc ?? ast.loc, 'SELECT * in an aggregating rule takes the fields of the last row of each window')
    }
    if (this.problems.length > 0) throw new RulePlanError(sortProblems(this.problems))

    const aliases: Record<string, number> = {}
    projections.forEach((p, i) => {
      if (p.kind === 'expr') aliases[p.name] = i
    })
    return {
      source,
      joins: boundJoins,
      where,
      window,
      groupKeys,
      projections,
      aggregates: this.aggregates,
      analytics: this.analytics,
      having,
      orderBy,
      limit: ast.limit,
      analysis: {
        aggregating,
        windowed: window !== undefined,
        fields: [...this.fields].sort(),
        topLevelFields: [...this.topLevelFields].sort(),
        tableFields: Object.fromEntries([...this.tableFields].map(([t, s]) => [t, [...s].sort()])),
        meta: [...this.meta].sort(),
        aliases,
        selectsAll: projections.some((p) => p.kind === 'star' && p.from === 'payload'),
        usesWindowBounds: this.usesWindowBounds,
        statefulSlots: this.statefulSlots,
        emitsEveryRow,
        integerColumns: projections.flatMap((p) => (p.kind === 'expr' && this.isInteger(p.expr) ? [p.name] : [])),
        lastValueColumns: emitsEveryRow ? [] : lastValueColumns,
      },
      warnings: sortProblems(this.warnings),
    }
  }

  private planSource(ast: RuleAst): SourcePlan {
    const from = ast.from
    if (from.kind === 'topic') {
      if (!isValidTopicFilter(from.filter)) {
        this.error(from.loc, `"${from.filter}" is not a valid MQTT topic filter ('+' and '#' must fill a whole level, '#' only last)`)
      }
      const alias = from.alias ?? ''
      if (alias) this.streamNames.add(alias)
      return {kind: 'topic', filter: from.filter, alias}
    }
    const known = this.options.sources
    if (known && !known.includes(from.name)) {
      const hint = closest(from.name, known)
      this.error(from.loc, `unknown source '${from.name}'${hint ? `; did you mean '${hint}'?` : ''} (declared: ${known.join(', ') || 'none'})`)
    }
    this.streamNames.add(from.name)
    if (from.alias) this.streamNames.add(from.alias)
    return {kind: 'stream', name: from.name, alias: from.alias ?? from.name}
  }

  private planJoinScope(j: RuleAst['joins'][number]): Omit<JoinPlan, 'on'> {
    const known = this.options.tables
    if (known && !known.includes(j.table)) {
      const hint = closest(j.table, known)
      this.error(j.loc, `unknown table '${j.table}'${hint ? `; did you mean '${hint}'?` : ''} (declared: ${known.join(', ') || 'none'})`)
    }
    const alias = j.alias ?? j.table
    if (this.tableAliases.has(alias) || this.streamNames.has(alias)) this.error(j.loc, `the name '${alias}' is used twice; give the table another alias`)
    this.tableAliases.set(alias, j.table)
    return {type: j.type, table: j.table, alias, loc: j.loc}
  }

  private planProjections(ast: RuleAst): ProjectionPlan[] {
    const out: ProjectionPlan[] = []
    const names = new Set<string>()
    let unnamed = 0
    for (const item of ast.fields) {
      if (item.kind === 'star') {
        const replace = item.replace?.map((r) => ({name: r.alias, expr: this.bind(r.expr, 'select')}))
        const mods = {...(item.except ? {except: item.except} : {}), ...(replace ? {replace} : {})}
        if (item.qualifier === undefined || this.streamNames.has(item.qualifier)) {
          out.push({kind: 'star', from: 'payload', ...mods, loc: item.loc})
          this.fields.add('*')
        } else if (this.tableAliases.has(item.qualifier)) {
          out.push({kind: 'star', from: {table: item.qualifier}, ...mods, loc: item.loc})
        } else {
          this.error(item.loc, `'${item.qualifier}' is neither the stream nor a joined table`)
        }
        continue
      }
      const multi = item.expr.kind === 'call' ? this.planMultiColumn(item.expr, item.alias) : undefined
      if (multi) {
        out.push(multi)
        continue
      }
      const expr = this.bind(item.expr, 'select')
      const name = item.alias ?? defaultName(item.expr) ?? `kuiper_field_${unnamed++}`
      if (names.has(name)) this.warn(item.loc, `the output column '${name}' appears twice; the later one wins (use AS to rename)`)
      names.add(name)
      if (item.alias) {
        this.aliasExprs.set(item.alias, expr)
        this.earlierAliases.set(item.alias, expr)
      }
      out.push({kind: 'expr', name, expr, loc: item.loc})
    }
    return out
  }

  /** `changed_cols(…)` and `unnest(…)` as a whole SELECT column; undefined for any other call. */
  private planMultiColumn(e: CallExpr, alias: string | undefined): ProjectionPlan | undefined {
    if (e.name !== 'changed_cols' && e.name !== 'unnest') return undefined
    if (e.name === 'unnest') {
      if (e.args.length !== 1 || e.star) {
        this.error(e.loc, 'unnest() takes 1 argument (an array)')
        return undefined
      }
      if (this.windowed) this.error(e.loc, 'unnest() works on single events here, not on window rows')
      return {kind: 'unnest', name: alias ?? defaultName(e.args[0]) ?? 'unnest', expr: this.bind(e.args[0], 'select'), loc: e.loc}
    }
    const [prefix, ignoreNull, ...rest] = e.args
    if (e.args.length < 3) {
      this.error(e.loc, 'changed_cols() takes a prefix, ignoreNull and at least one column: changed_cols("c_", true, temperature)')
      return undefined
    }
    if (prefix.kind !== 'literal' || typeof prefix.value !== 'string') this.error(prefix.loc, 'changed_cols(): the prefix must be a string, e.g. "" or "c_"')
    if (ignoreNull.kind !== 'literal' || typeof ignoreNull.value !== 'boolean') this.error(ignoreNull.loc, 'changed_cols(): ignoreNull must be true or false')
    if (alias) this.error(e.loc, 'changed_cols() returns several columns: name them with its prefix argument, not AS')
    const isStar = (a: Expr) => a.kind === 'ref' && a.name === '*' && !a.quoted && a.path.length === 0
    const star = rest.some(isStar)
    let unnamed = 0
    const columns = rest.filter((a) => !isStar(a)).map((a) => ({name: defaultName(a) ?? `kuiper_field_${unnamed++}`, expr: this.bind(a, 'select')}))
    if (star) this.fields.add('*')
    const pre = prefix.kind === 'literal' ? String(prefix.value) : ''
    const ign = ignoreNull.kind === 'literal' && ignoreNull.value === true
    const slot = this.statefulSlots++
    return {
      kind: 'changedCols', prefix: pre, ignoreNull: ign, columns, star, slot, loc: e.loc,
    }
  }

  /**
   * eKuiper reads "…" as a string, where other dialects read a field name: a double-quoted text equal to a field the
   * rule or the pipeline knows is almost surely meant as that field (it would compare or compute on a constant).
   */
  private checkDoubleQuoted(ast: RuleAst): void {
    const known = new Set([...this.topLevelFields, ...(this.options.knownFields ?? [])])
    for (const lit of this.doubleQuoted) {
      const v = lit.value as string
      if (known.has(v)) {
        this.error(lit.loc, `"${v}" is a string in eKuiper SQL, not the field ${v}: write ${v} (or \`${v}\`) for the field, or '${v}' for the text`)
      }
    }
    for (const f of ast.fields) {
      if (f.kind === 'field' && !f.alias && f.expr.kind === 'literal' && f.expr.quote === 'double' && !known.has(String(f.expr.value))) {
        const v = String(f.expr.value)
        this.error(f.expr.loc, `SELECT "${v}" selects the text "${v}" (a string in eKuiper SQL): write ${/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? v : `\`${v}\``} for the field, or '${v}' AS name for the text`)
      }
    }
  }

  /** eKuiper keeps such columns and takes the last row's value; we do too, but say so. */
  private checkUngroupedColumns(projections: ProjectionPlan[], keys: GroupKeyPlan[]): string[] {
    const grouped = new Set(keys.map((k) => canonical(k.expr)))
    const found: string[] = []
    const visit = (e: BoundExpr, loc: SourceSpan): void => {
      if (grouped.has(canonical(e))) return
      if (e.kind === 'field' || e.kind === 'tableField') {
        const name = e.kind === 'field' ? formatPath(e.path) : `${e.table}.${formatPath(e.path)}`
        if (!found.includes(name)) {
          found.push(name)
          this.warn(loc, `column '${name}' is neither aggregated nor in GROUP BY: each window emits its last row's value`)
        }
        return
      }
      forEachChild(e, (c) => visit(c, loc))
    }
    for (const p of projections) if (p.kind === 'expr') visit(p.expr, p.loc)
    return found
  }

  /** The GROUP BY window call through its kind (window/kinds.ts): arguments checked with positions, then the kind's plan. */
  private planWindow(w: WindowClause): WindowPlan | undefined {
    const kind = windowKind(w.windowKind)!
    const signature = kind.signature
    const call = `${kind.kind.toUpperCase()}WINDOW`
    const filter = w.filter ? this.bind(w.filter, 'filter') : undefined
    const over = w.over ? this.bind(w.over, 'over') : undefined
    if (over && !kind.over) {
      const calls = WINDOW_KINDS.filter((k) => k.over).map((k) => `${k.kind.toUpperCase()}WINDOW`)
      this.error(w.over?.loc ?? w.loc, `OVER (WHEN …) belongs to ${calls.join(', ')} only`)
    }

    let args = w.args
    let unitMs = 1
    let unit = ''
    if (kind.timed) {
      const [unitArg, ...rest] = w.args
      if (unitArg.kind !== 'unit') {
        this.error(unitArg.loc, `${signature}: the first argument is a time unit (DD, HH, MI, SS or MS)`)
        return undefined
      }
      const ms = TIME_UNITS_MS[unitArg.unit.toLowerCase()]
      if (ms === undefined) {
        this.error(unitArg.loc, `unknown time unit '${unitArg.unit}': use DD, HH, MI, SS or MS`)
        return undefined
      }
      ;[args, unitMs, unit] = [rest, ms, unitArg.unit]
    }
    const required = kind.args.filter((a) => !a.optional).length
    if (args.length < required || args.length > kind.args.length) {
      const lead = kind.timed ? 1 : 0
      this.error(w.loc, `${signature} takes ${describeCount(required + lead, kind.args.length + lead)} argument(s), got ${w.args.length}`)
      return undefined
    }
    const written: number[] = []
    for (const a of args) {
      if (a.kind !== 'number') {
        this.error(a.loc, `${signature}: expected a number, got '${a.unit}'`)
        return undefined
      }
      written.push(a.value)
    }

    const values: Array<number | undefined> = []
    let ok = true
    for (let i = 0; i < kind.args.length; i++) {
      const spec = kind.args[i]
      if (i >= written.length) {
        values.push(undefined)
        continue
      }
      if (!kind.timed) {
        // Counts: the first wrong one is the message.
        if (!Number.isInteger(written[i]) || written[i] < 1) {
          this.error(args[i].loc, `${call}: ${spec.name} must be a whole number of at least 1, got ${written[i]}`)
          return undefined
        }
        values.push(written[i])
        continue
      }
      const v = written[i] * unitMs
      if (!(v > 0 || (spec.allowZero && v === 0)) || !Number.isFinite(v)) {
        this.error(args[i].loc, `${signature}: ${spec.name} must be ${spec.allowZero ? 'zero or more' : 'greater than zero'}, got ${written[i]}`)
        ok = false
      } else if (!Number.isInteger(v)) {
        this.error(args[i].loc, `${signature}: ${spec.name} must be a whole number of milliseconds, got ${written[i]} ${unit}`)
        ok = false
      }
      values.push(v)
    }
    if (!ok) return undefined
    const params = kind.plan(values, {written, warn: (message, arg) => this.warn(arg === undefined ? w.loc : args[arg].loc, message)})
    return {kind: kind.kind, ...params, ...(kind.over ? {over} : {}), filter, loc: w.loc} as WindowPlan
  }

  // ------------------------------------------------------------ expressions

  bind(e: Expr, clause: Clause): BoundExpr {
    switch (e.kind) {
      case 'literal':
        if (e.quote === 'double' && typeof e.value === 'string') this.doubleQuoted.push(e)
        return {kind: 'literal', value: e.value, loc: e.loc}
      case 'ref':
        return this.bindRef(e.name, e.path, e.loc, clause)
      case 'access':
        return {kind: 'access', target: this.bind(e.target, clause), path: pathSteps(e.path), loc: e.loc}
      case 'meta':
        if (e.key !== '*' && !(META_KEYS as readonly string[]).includes(e.key.toLowerCase())) {
          const hint = closest(e.key.toLowerCase(), META_KEYS)
          this.error(e.loc, `unknown metadata '${e.key}'${hint ? `; did you mean ${e.fn ?? 'meta'}(${hint})?` : ''} (one of ${META_KEYS.join(', ')})`)
        }
        this.meta.add(e.key === '*' ? '*' : e.key.toLowerCase())
        return {kind: 'meta', key: e.key === '*' ? '*' : (e.key.toLowerCase() as MetaKey), loc: e.loc}
      case 'unary':
        return e.op === '-'
          ? {kind: 'negate', operand: this.bind(e.operand, clause), loc: e.loc}
          : {kind: 'not', operand: this.bind(e.operand, clause), loc: e.loc}
      case 'binary': {
        const left = this.bind(e.left, clause)
        const right = this.bind(e.right, clause)
        if (e.op === 'and' || e.op === 'or') return {kind: 'logical', op: e.op, left, right, loc: e.loc}
        if (e.op === '+' || e.op === '-' || e.op === '*' || e.op === '/' || e.op === '%') {
          for (const side of [left, right]) {
            if (side.kind === 'literal' && typeof side.value !== 'number' && side.value !== null) {
              this.error(side.loc, `'${e.op}' works on numbers, not ${describeLiteral(side.value)}; use concat() to join text`)
            }
          }
          return {kind: 'arithmetic', op: e.op, left, right, loc: e.loc}
        }
        return {kind: 'compare', op: e.op, left, right, loc: e.loc}
      }
      case 'in':
        return {kind: 'in', operand: this.bind(e.operand, clause), list: e.list.map((x) => this.bind(x, clause)), negated: e.negated, loc: e.loc}
      case 'between':
        return {
          kind: 'between', operand: this.bind(e.operand, clause), low: this.bind(e.low, clause), high: this.bind(e.high, clause),
          negated: e.negated, loc: e.loc,
        }
      case 'like': {
        const pattern = this.bind(e.pattern, clause)
        if (pattern.kind === 'literal' && typeof pattern.value !== 'string' && pattern.value !== null) {
          this.error(pattern.loc, `LIKE needs a text pattern such as 'acme/%', got ${describeLiteral(pattern.value)}`)
        }
        return {kind: 'like', operand: this.bind(e.operand, clause), pattern, negated: e.negated, loc: e.loc}
      }
      case 'isNull':
        return {kind: 'isNull', operand: this.bind(e.operand, clause), negated: e.negated, loc: e.loc}
      case 'case':
        return {
          kind: 'case',
          operand: e.operand ? this.bind(e.operand, clause) : undefined,
          whens: e.whens.map((w) => ({when: this.bind(w.when, clause), then: this.bind(w.then, clause)})),
          else: e.else ? this.bind(e.else, clause) : undefined,
          loc: e.loc,
        }
      case 'call':
        return this.bindCall(e, clause)
    }
  }

  private bindRef(name: string, path: Accessor[], loc: SourceSpan, clause: Clause): BoundExpr {
    const first = path[0]
    const qualified = first?.kind === 'member' && !first.arrow
    if (qualified && this.tableAliases.has(name)) {
      const steps = pathSteps(path)
      this.checkTableColumn(name, steps, loc)
      this.noteTableField(name, steps)
      return {kind: 'tableField', table: name, path: steps, loc}
    }
    if (name === '*' && path.length === 0) {
      // `had_changed(true, *)`: the whole row.
      this.fields.add('*')
      return {kind: 'field', path: [], loc}
    }
    if (qualified && this.streamNames.has(name)) {
      const steps = pathSteps(path)
      this.noteField(steps)
      return {kind: 'field', path: steps, loc}
    }
    if (path.length === 0 && (clause === 'having' || clause === 'order')) {
      const aliased = this.aliasExprs.get(name)
      if (aliased) return aliased
    }
    if (path.length === 0 && clause === 'select') {
      const earlier = this.earlierAliases.get(name)
      if (earlier) return earlier
    }
    if (path.length === 0 && BEFORE_SELECT.has(clause) && !(this.options.knownFields ?? []).includes(name)) {
      const aliased = this.selectAliases.get(name)
      // `round(temperature, 1) AS temperature`: the alias is also a field of the input, which WHERE reads.
      if (aliased && !mentionsField(aliased, name)) {
        const where = clause === 'where' ? 'WHERE' : clause === 'group key' ? 'GROUP BY' : clause === 'filter' ? 'FILTER' : clause.toUpperCase()
        this.error(loc, `'${name}' is an alias from the SELECT list; ${where} runs before SELECT and sees only the input's fields: write the expression itself${clause === 'where' ? ' (or filter windows with HAVING)' : ''}`)
      }
    }
    if (path.length === 0 && this.tableAliases.has(name)) {
      this.error(loc, `'${name}' is a joined table: name one of its columns, e.g. ${name}.id`)
    }
    const steps = [name, ...pathSteps(path)]
    this.noteField(steps)
    return {kind: 'field', path: steps, loc}
  }

  private noteField(steps: PathStep[]): void {
    this.fields.add(formatPath(steps))
    if (typeof steps[0] === 'string') this.topLevelFields.add(steps[0])
  }

  /** A column the table's file does not have matches nothing: say so, with the nearest column (case first). */
  private checkTableColumn(alias: string, steps: PathStep[], loc: SourceSpan): void {
    const table = this.tableAliases.get(alias) ?? alias
    const columns = this.options.tableColumns?.[table]
    const col = steps[0]
    if (!columns || columns.length === 0 || typeof col !== 'string' || columns.includes(col)) return
    const hint = columns.find((c) => c.toLowerCase() === col.toLowerCase()) ?? closest(col, columns)
    this.error(loc, `table ${table} has no column '${col}'${hint ? `; did you mean ${alias}.${hint}?` : ''} (columns: ${columns.join(', ')})`)
  }

  private noteTableField(table: string, steps: PathStep[]): void {
    let set = this.tableFields.get(table)
    if (!set) this.tableFields.set(table, (set = new Set()))
    set.add(formatPath(steps))
  }

  private bindCall(e: CallExpr, clause: Clause): BoundExpr {
    const spec = this.functions.get(e.name)
    if (e.name === 'changed_cols' || e.name === 'unnest') {
      this.error(e.loc, `${e.name}() returns ${e.name === 'unnest' ? 'several rows' : 'several columns'}: use it as a whole SELECT column`)
      return {kind: 'literal', value: null, loc: e.loc}
    }
    if (!spec) {
      const meantWindow = clause === 'group key' ? closestName(e.name, WINDOW_CALLS) : undefined
      if (WINDOW_CALLS.has(e.name)) {
        this.error(e.loc, clause === 'group key'
          ? `${e.name.toUpperCase()}: arguments must be a time unit and plain numbers, e.g. TUMBLINGWINDOW(ss, 10)`
          : `${e.name.toUpperCase()} is a window: put it in GROUP BY`)
      } else if (meantWindow !== undefined && this.functions.suggest(e.name) === undefined) {
        this.misspeltWindow = true
        this.error(e.loc, `unknown function ${e.name}(); did you mean the window ${windowKind(meantWindow.replace(/window$/, ''))?.signature ?? meantWindow.toUpperCase()}?`)
      } else {
        const hint = this.functions.suggest(e.name)
        const meant = hint === 'meta' ? `meta(${META_KEYS.includes(e.name as MetaKey) ? e.name : 'topic'})` : `${hint}()`
        this.error(e.loc, `unknown function ${e.name}()${hint ? `; did you mean ${meant}?` : ''}`)
      }
      return {kind: 'literal', value: null, loc: e.loc}
    }
    this.checkSignature(spec, e)
    if ((e.partitionBy || e.when) && spec.kind !== 'stateful') {
      this.error(e.loc, `OVER (PARTITION BY … WHEN …) applies to analytic functions (${this.functions.list().filter((f) => f.kind === 'stateful').map((f) => f.name).join(', ')}), not ${e.name}()`)
    }

    switch (spec.kind) {
      case 'window': {
        if (!WINDOW_BOUNDS_ALLOWED.has(clause)) this.error(e.loc, `${e.name}() is only known when a window is emitted: use it in SELECT or HAVING`)
        else if (!this.windowed) this.error(e.loc, `${e.name}() needs a window in GROUP BY`)
        this.usesWindowBounds = true
        return {kind: 'windowBound', bound: spec.bound, loc: e.loc}
      }
      case 'aggregate': {
        if (!AGGREGATES_ALLOWED.has(clause)) {
          const where = clause === 'aggregate' ? 'inside another aggregate' : `in ${clause.toUpperCase()}`
          this.error(e.loc, `aggregate ${e.name}() is not allowed ${where}${clause === 'where' ? ': WHERE filters single events; use HAVING to filter windows' : ''}`)
          return {kind: 'literal', value: null, loc: e.loc}
        }
        const arg = e.star || e.args.length === 0 ? undefined : this.bind(e.args[0], 'aggregate')
        const consts = constArgs(e.args)
        const key = canonical({name: spec.name, arg, star: e.star, consts})
        let index = this.aggregateIndex.get(key)
        if (index === undefined) {
          index = this.aggregates.length
          this.aggregateIndex.set(key, index)
          this.aggregates.push({index, name: spec.name, spec, arg, star: e.star, consts, loc: e.loc})
        }
        return {kind: 'aggregate', index, loc: e.loc}
      }
      case 'stateful': {
        if (clause === 'group key' || clause === 'partition') this.error(e.loc, `${e.name}() keeps state per key and cannot itself be a key`)
        const args = e.args.map((a) => this.bind(a, clause))
        const partitionBy = e.partitionBy?.map((p) => this.bind(p, 'partition'))
        const when = e.when ? this.bind(e.when, clause) : undefined
        // Equal calls (same function, arguments, partition and WHEN) share one slot: `zscore(t, 60)` in WHERE and in
        // SELECT is one rolling window stepped once per row, not two windows that see different rows.
        const consts = constArgs(e.args)
        const key = canonical({name: spec.name, args, consts, partitionBy, when})
        let slot = this.statefulIndex.get(key)
        const node = {kind: 'stateful' as const, name: spec.name, spec, args, consts, partitionBy, when, slot: slot ?? this.statefulSlots, loc: e.loc}
        if (slot === undefined) {
          slot = this.statefulSlots++
          this.statefulIndex.set(key, slot)
          const perWindow = [...args, ...(when ? [when] : [])].some((a) => this.dependsOnWindow(a))
          this.analytics.push({...node, phase: perWindow ? 'emit' : 'row'})
        }
        return node
      }
      case 'scalar':
        return {kind: 'call', name: spec.name, spec, args: e.args.map((a) => this.bind(a, clause)), loc: e.loc}
    }
  }

  /** Whole numbers by construction: count(), acc_count(), cast(x, 'bigint'), window bounds. */
  private isInteger(e: BoundExpr): boolean {
    if (e.kind === 'aggregate') return this.aggregates[e.index]?.name === 'count'
    if (e.kind === 'stateful') return e.name === 'acc_count'
    if (e.kind === 'call') return e.name === 'cast' && e.args[1]?.kind === 'literal' && ['bigint', 'int', 'integer'].includes(String(e.args[1].value).toLowerCase())
    return false
  }

  /** An expression over aggregates or window bounds (directly or through an analytic call) is known per window row. */
  private dependsOnWindow(e: BoundExpr): boolean {
    if (e.kind === 'aggregate' || e.kind === 'windowBound') return true
    if (e.kind === 'stateful') return this.analytics.find((a) => a.slot === e.slot)?.phase === 'emit'
    let found = false
    forEachChild(e, (c) => {
      if (!found && this.dependsOnWindow(c)) found = true
    })
    return found
  }

  private checkSignature(spec: FunctionSpec, e: CallExpr): void {
    const n = e.args.length
    const max = spec.variadic ? Number.POSITIVE_INFINITY : spec.params.length
    if (e.star) {
      if (spec.kind !== 'aggregate' || !spec.allowsStar) this.error(e.loc, `only count(*) takes *; ${e.name}() needs ${describeParams(spec)}`)
      return
    }
    if (n < spec.required || n > max) {
      const takes = spec.required === max ? `${max}` : max === Number.POSITIVE_INFINITY ? `at least ${spec.required}` : `${spec.required} to ${max}`
      this.error(e.loc, `${e.name}() takes ${takes} argument${takes === '1' ? '' : 's'} (${describeParams(spec)}), got ${n}`)
      return
    }
    e.args.forEach((arg, i) => {
      const p: ParamSpec | undefined = spec.params[i] ?? spec.variadic
      if (!p) return
      if (p.literal && arg.kind !== 'literal' && !(arg.kind === 'unary' && arg.operand.kind === 'literal')) {
        this.error(arg.loc, `${e.name}(): ${p.name} must be written as a literal value`)
        return
      }
      if (arg.kind === 'literal' && arg.value !== null && p.type !== 'any' && typeof arg.value !== p.type) {
        this.error(arg.loc, `${e.name}(): ${p.name} (argument ${i + 1}) must be a ${p.type}, got ${describeLiteral(arg.value)}`)
      }
    })
    const problem = spec.check?.(constArgs(e.args))
    if (problem) this.error(e.loc, problem)
  }
}

/** Every planning problem at once, in the order they appear in the text. */
function sortProblems(p: RuleProblem[]): RuleProblem[] {
  return [...p].sort((a, b) => a.offset - b.offset)
}

/** Whether an expression as written reads the top-level field `name` anywhere. */
function mentionsField(e: Expr, name: string): boolean {
  switch (e.kind) {
    case 'ref':
      return e.name === name
    case 'literal':
    case 'meta':
      return false
    case 'access':
      return mentionsField(e.target, name)
    case 'unary':
      return mentionsField(e.operand, name)
    case 'binary':
      return mentionsField(e.left, name) || mentionsField(e.right, name)
    case 'in':
      return mentionsField(e.operand, name) || e.list.some((x) => mentionsField(x, name))
    case 'between':
      return mentionsField(e.operand, name) || mentionsField(e.low, name) || mentionsField(e.high, name)
    case 'like':
      return mentionsField(e.operand, name) || mentionsField(e.pattern, name)
    case 'isNull':
      return mentionsField(e.operand, name)
    case 'case':
      return (e.operand !== undefined && mentionsField(e.operand, name)) || e.whens.some((w) => mentionsField(w.when, name) || mentionsField(w.then, name)) || (e.else !== undefined && mentionsField(e.else, name))
    case 'call':
      return e.args.some((x) => mentionsField(x, name))
  }
}

/** Clauses evaluated before SELECT: an output alias means nothing there. */
const BEFORE_SELECT: ReadonlySet<Clause> = new Set(['where', 'filter', 'group key', 'on', 'partition'])

/** Where `LIMIT` sits, for messages (the AST keeps only its value). */
function limitLoc(ast: RuleAst): SourceSpan {
  return ast.limitLoc ?? ast.loc
}

function constArgs(args: readonly Expr[]): ConstArgs {
  return args.map((a) => (a.kind === 'literal' ? a.value : undefined))
}

function describeParams(spec: FunctionSpec): string {
  const names = spec.params.map((p, i) => (i < spec.required ? p.name : `[${p.name}]`))
  if (spec.variadic) names.push('…')
  return names.length ? names.join(', ') : 'no arguments'
}

function describeCount(min: number, max: number): string {
  return min === max ? String(min) : `${min} or ${max}`
}

function describeLiteral(v: unknown): string {
  return typeof v === 'string' ? `the text '${v}'` : String(v)
}

/** The output name eKuiper gives an unaliased column: the field's last name, or a function's name. */
function defaultName(e: Expr): string | undefined {
  if (e.kind === 'ref') {
    for (let i = e.path.length - 1; i >= 0; i--) {
      const step = e.path[i]
      if (step.kind === 'member') return step.name
    }
    return e.name
  }
  if (e.kind === 'call') return e.name
  if (e.kind === 'meta') return e.key
  return undefined
}

function formatExpr(e: Expr): string {
  return e.kind === 'literal' ? String(e.value) : e.kind
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  return closestName(name, candidates)
}

/** MQTT topic filter rules (non-empty, `+` fills a whole level, `#` is the whole last level, no NUL, at most 65,535 UTF-8 bytes): net/topic-rules.ts's findFilterFault finds none. */
export function isValidTopicFilter(filter: string): boolean {
  return findFilterFault(filter) === undefined
}

/** Calls `fn` on each direct child expression. */
export function forEachChild(e: BoundExpr, fn: (child: BoundExpr) => void): void {
  switch (e.kind) {
    case 'literal':
    case 'field':
    case 'tableField':
    case 'meta':
    case 'aggregate':
    case 'windowBound':
      return
    case 'access':
      return fn(e.target)
    case 'negate':
    case 'not':
    case 'isNull':
      return fn(e.operand)
    case 'arithmetic':
    case 'compare':
    case 'logical':
      fn(e.left)
      return fn(e.right)
    case 'in':
      fn(e.operand)
      return e.list.forEach(fn)
    case 'between':
      fn(e.operand)
      fn(e.low)
      return fn(e.high)
    case 'like':
      fn(e.operand)
      return fn(e.pattern)
    case 'case':
      if (e.operand) fn(e.operand)
      for (const w of e.whens) {
        fn(w.when)
        fn(w.then)
      }
      if (e.else) fn(e.else)
      return
    case 'call':
      return e.args.forEach(fn)
    case 'stateful':
      e.args.forEach(fn)
      e.partitionBy?.forEach(fn)
      if (e.when) fn(e.when)
      return
  }
}

/**
 * Plans a parsed rule. Throws RulePlanError (with every problem found) and nothing else; warnings, which do not
 * stop a rule, are in `plan.warnings`.
 */
export function planRule(ast: RuleAst, options: PlanOptions = {}): RulePlan {
  const planner = new Planner(options.functions ?? defaultFunctionRegistry(), options)
  try {
    return planner.plan(ast)
  } catch (error) {
    if (error instanceof RulePlanError) throw error
    if (error instanceof RangeError) {
      throw new RulePlanError([{line: 1, col: 1, offset: 0, message: 'the rule is nested too deeply'}])
    }
    throw error
  }
}
