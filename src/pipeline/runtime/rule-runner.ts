/**
 * One rule at run time: FROM match -> JOIN -> WHERE -> (window, keyed by GROUP BY) -> HAVING -> project ->
 * ORDER BY/LIMIT (per firing). Synchronous and allocation-light: the runtime calls `process` for every record and
 * gets back the rows it produced, each carrying the ack handles of the events it came from.
 */
import {compareValues} from '../rule/values.js'
import {
  compileExpression,
  compilePredicate,
  compileRule,
  type Accumulator,
  type BoundExpr,
  type CompiledRule,
  type Evaluator,
  type JoinPlan,
  type RowContext,
  type RulePlan,
  type RecordMetaView,
} from '../rule/index.js'
import {isValidTopicFilter} from '../rule/index.js'
import {indexKey, type LookupTable} from '../tables.js'
import type {PipelineRecord} from '../types.js'
import {createWindowOperator, type WindowOperator, type WindowOutput, type WindowStats} from '../window/index.js'
import {topicMatches} from '../../net/topic-filter.js'
import {SavedRowShape} from './saved-rows.js'
import {loadFieldColumns, toFieldColumns, type Column} from '../window/columns.js'

/** What the runtime hands in per event: an opaque ack handle the rule passes back on the rows it produces. */
export type AckHandle = unknown

export interface OutputRow {
  fields: Record<string, unknown>
  /** Event time of the row: the event's ts, or window_end for window rows. */
  ts: number
  topic?: string
  /** Ack handles this row releases (empty for rows whose events were acknowledged already). */
  acks: AckHandle[]
}

export interface RuleCounters {
  /** Records that matched FROM. */
  in: number
  /** Removed by WHERE, FILTER or an inner JOIN without a match. */
  filtered: number
  /** Sent to the dead letter by the rule's reject: condition. */
  rejected: number
  out: number
  /** Rows with nothing to send (every column null or unchanged: changed_col, changed_cols), not emitted as eKuiper. */
  empty: number
  lateDropped: number
  windowsFired: number
  openWindows: number
  futureRejected: number
}

export interface RuleRunnerOptions {
  name: string
  plan: RulePlan
  /** The rule's FROM names one of these sources (by name); topic filters match records of any source. */
  tables: ReadonlyMap<string, LookupTable>
  lateToleranceMs?: number
  offsetMs?: number
  /** Live sources: the wall clock for the future-skew check; undefined for finite inputs (no check). */
  futureSkew?: {now: () => number; maxFutureSkewMs: number}
  /** Late event (or future-skew rejection): the runtime acknowledges it and may dead-letter it. */
  onDropped?: (record: PipelineRecord, why: 'late' | 'future', ack: AckHandle) => void
  /** Ack handles of held events that leave a window without a row still to come. */
  onRelease?: (acks: AckHandle[]) => void
  now?: () => number
  /** Events matching this condition go to `onReject` instead of into the rule. */
  reject?: BoundExpr
  /** Keep null columns in rows (default false: left out, as eKuiper's sendNil: false). */
  sendNil?: boolean
  onReject?: (record: PipelineRecord) => void
}

export interface RuleSnapshot {
  window?: unknown
  functions: ReturnType<CompiledRule['state']['snapshot']>
}

interface Held {
  row: RowContext
  record: PipelineRecord
}

interface AggState {
  accs: Accumulator[]
  last: RowContext | undefined
  /** Every row, in arrival order, when the rule emits each row of a window (plan.analysis.emitsEveryRow). */
  rows: RowContext[] | undefined
}

interface AggResult {
  values: unknown[]
  last: RowContext | undefined
  rows: RowContext[] | undefined
}

type Join = (ctx: RowContext, tables: Record<string, unknown>) => boolean

export class RuleRunner {
  readonly name: string
  readonly plan: RulePlan
  readonly compiled: CompiledRule
  readonly counters: RuleCounters = {in: 0, filtered: 0, rejected: 0, out: 0, empty: 0, lateDropped: 0, windowsFired: 0, openWindows: 0, futureRejected: 0}
  private readonly matchSource: (record: PipelineRecord) => boolean
  private readonly joins: Join[]
  private readonly reject?: (row: RowContext) => boolean
  private readonly window?: WindowOperator<Held, AggResult>
  private readonly order?: {key: Evaluator; desc: boolean}[]
  private readonly opts: RuleRunnerOptions
  /** Set by the window's late/future callbacks during one push. */
  private droppedNow = false
  /** Scratch for the rows one projection produces. */
  private readonly projected: Record<string, unknown>[] = []
  /** Analytic values of the current row, for rules without a window (see process). */
  private readonly analyticScratch: unknown[] = []

  constructor(opts: RuleRunnerOptions) {
    this.opts = opts
    this.name = opts.name
    this.plan = opts.plan
    this.compiled = compileRule(opts.plan, {context: opts.now ? {now: opts.now} : undefined, sendNil: opts.sendNil})
    const src = opts.plan.source
    if (src.kind === 'topic') {
      const filter = src.filter
      const exact = isValidTopicFilter(filter) && !filter.includes('+') && !filter.includes('#')
      this.matchSource = exact ? (r) => r.topic === filter : (r) => r.topic !== undefined && topicMatches(filter, r.topic)
    } else {
      const name = src.name
      this.matchSource = (r) => r.meta.source === name
    }
    this.joins = opts.plan.joins.map((j, i) => this.compileJoin(j, this.compiled.joinOn[i]))
    // The reject condition was planned on its own (its analytic slots are its own), so it keeps its own state.
    if (opts.reject) this.reject = compilePredicate(opts.reject)
    if (opts.plan.window) {
      const aggs = this.compiled.aggregates
      const everyRow = opts.plan.analysis.emitsEveryRow
      const spec = opts.plan.window
      const saved = new SavedRowShape(opts.plan)
      this.window = createWindowOperator<Held, AggResult, AggState>(
        spec,
        {
          create: () => ({accs: aggs.map((a) => a.create()), last: undefined, rows: everyRow ? [] : undefined}),
          add(state, held) {
            for (let i = 0; i < aggs.length; i++) state.accs[i].add(aggs[i].value(held.row))
            state.last = held.row
            state.rows?.push(held.row)
          },
          result: (state) => ({values: state.accs.map((a) => a.result()), last: state.last, rows: state.rows}),
          merge(a, b) {
            for (let i = 0; i < a.accs.length; i++) a.accs[i].merge(b.accs[i])
            a.last = b.last ?? a.last
            if (a.rows && b.rows) for (const r of b.rows) a.rows.push(r)
            return a
          },
          // Accumulators keep plain data in their own fields: a checkpoint holds the fields, a restore puts them
          // back into fresh instances of the same functions. Of the last row only what emitting reads is kept.
          save: (state) => ({accs: state.accs.map((a) => ({...a})), last: saved.one(state.last), rows: state.rows}),
          load(data) {
            const d = data as {accs: Record<string, unknown>[]; last: unknown; rows?: RowContext[]}
            return {accs: aggs.map((a, i) => Object.assign(a.create(), d.accs[i])), last: saved.fromOne(d.last), rows: everyRow ? (d.rows ?? []) : undefined}
          },
          // Every open window at once (tumbling, hopping): per aggregate one column per accumulator field.
          saveAll: (states) => ({
            accs: aggs.map((_, i) => toFieldColumns(states.map((st) => st.accs[i]))),
            last: saved.many(states.map((st) => st.last)),
            rows: everyRow ? states.map((st) => st.rows) : undefined,
          }),
          loadAll(data, n) {
            const d = data as {accs: {fields: string[]; columns: Column[]}[]; last: unknown; rows?: RowContext[][]}
            const accs = aggs.map((a, i) => loadFieldColumns(d.accs[i], Array.from({length: n}, () => a.create())))
            const last = saved.fromMany(d.last)
            return Array.from({length: n}, (_, w) => ({accs: accs.map((col) => col[w]), last: last[w], rows: everyRow ? (d.rows?.[w] ?? []) : undefined}))
          },
        },
        {
          lateToleranceMs: opts.lateToleranceMs ?? 0,
          offsetMs: opts.offsetMs ?? 0,
          futureSkew: opts.futureSkew,
          onLate: (ev) => {
            this.droppedNow = true
            opts.onDropped?.(ev.row.record, 'late', ev.ack)
          },
          onFutureSkew: (ev) => {
            this.droppedNow = true
            opts.onDropped?.(ev.row.record, 'future', ev.ack)
          },
          onRelease: (acks) => opts.onRelease?.(acks),
        },
      )
      if (opts.plan.orderBy.length > 0) {
        this.order = opts.plan.orderBy.map((o) => ({key: compileExpression(o.expr, {state: this.compiled.state}), desc: o.direction === 'desc'}))
      }
    }
  }

  /** The window's watermark (-Infinity without a window). */
  get watermark(): number {
    return this.window?.watermark ?? -Infinity
  }

  get windowed(): boolean {
    return this.window !== undefined
  }

  matches(record: PipelineRecord): boolean {
    return this.matchSource(record)
  }

  /**
   * One record that matched FROM. Returns the rows it produced (possibly none). `ack` is held by the window when
   * the event is kept; `held` tells the caller whether it was (then the window gives it back later).
   */
  process(record: PipelineRecord, meta: RecordMetaView, ack: AckHandle, out: OutputRow[]): boolean {
    this.counters.in++
    const c = this.compiled
    const row: RowContext = {payload: record.fields, meta, key: record.key}
    let pass = true
    if (this.joins.length > 0) {
      const tables: Record<string, unknown> = {}
      row.tables = tables
      for (const join of this.joins) {
        if (!join(row, tables)) {
          pass = false
          break
        }
      }
    }
    if (this.reject && this.reject(row)) {
      // Rejected events are not windowed and do not move the watermark: their time is not trusted either.
      this.counters.rejected++
      this.opts.onReject?.(record)
      return false
    }
    // eKuiper's model: analytic functions see every row, before WHERE, CASE or AND/OR could skip them. A rule without
    // a window keeps no row after this call, so its rows share one array of analytic values.
    if (!this.window) row.analytic = this.analyticScratch
    c.stepRow(row)
    if (pass && c.where && !c.where(row)) pass = false
    if (!this.window) {
      if (!pass) {
        this.counters.filtered++
        return false
      }
      const rows = this.projected
      c.project(row, rows)
      if (rows.length === 0) this.counters.empty++
      // Not held: each row carries the ack to the sinks directly (every row holds it until its sinks have it).
      for (let i = 0; i < rows.length; i++) out.push({fields: rows[i], ts: record.ts, topic: record.topic, acks: ack === undefined ? [] : [ack]})
      this.counters.out += rows.length
      rows.length = 0
      return false
    }
    if (pass && c.filter && !c.filter(row)) pass = false
    if (!pass) this.counters.filtered++
    const triggers = c.over ? c.over(row) : true
    const key = this.groupKey(row)
    this.droppedNow = false
    const fired = this.window.push({ts: record.ts, key, row: {row, record}, ack}, pass, triggers)
    // Held when accepted and neither late nor rejected: the window gives the ack back with a row or via onRelease.
    const held = pass && !this.droppedNow
    if (fired.length > 0) this.emitWindows(fired, out)
    return held
  }

  /** Raises the watermark without an event (processing-time rules, idle live sources). */
  advanceTo(watermark: number, out: OutputRow[]): void {
    if (!this.window) return
    const fired = this.window.advanceTo(watermark)
    if (fired.length > 0) this.emitWindows(fired, out)
  }

  /** End of input (or a flushing shutdown): every open window fires. */
  end(out: OutputRow[]): void {
    if (!this.window) return
    const fired = this.window.end()
    if (fired.length > 0) this.emitWindows(fired, out)
  }

  /** Window contents and stateful-function state as structured-cloneable data (pipeline/state checkpoints). */
  snapshot(): RuleSnapshot {
    return {window: this.window?.snapshot(), functions: this.compiled.state.snapshot()}
  }

  /** Restores a fresh runner of the same rule from `snapshot` data. */
  restore(data: RuleSnapshot): void {
    if (this.window && data.window !== undefined) this.window.restore(data.window)
    this.compiled.state.restore(data.functions)
  }

  stats(): RuleCounters {
    if (this.window) {
      const s: WindowStats = this.window.stats()
      this.counters.lateDropped = s.lateDropped
      this.counters.windowsFired = s.windowsFired
      this.counters.openWindows = s.openWindows
      this.counters.futureRejected = s.futureRejected
    }
    return {...this.counters}
  }

  private groupKey(row: RowContext): string {
    const keys = this.compiled.groupKeys
    if (keys.length === 0) return ''
    if (keys.length === 1) {
      const v = keys[0](row)
      return typeof v === 'string' ? v : (indexKey(v) ?? '\u0000null')
    }
    return JSON.stringify(keys.map((k) => k(row)))
  }

  private emitWindows(fired: WindowOutput<AggResult>[], out: OutputRow[]): void {
    const c = this.compiled
    let rows: {ctx: RowContext; acks: unknown[]; end: number; topic?: string}[] = []
    const NONE: unknown[] = []
    for (const w of fired) {
      // A rule without aggregates or keys emits every row of the window (eKuiper); others one row per window and key.
      const sources = w.aggregates.rows ?? [w.aggregates.last]
      const kept = rows.length
      for (const src of sources) {
        const ctx: RowContext = {
          payload: src?.payload ?? null,
          meta: src?.meta ?? {},
          key: src?.key,
          tables: src?.tables,
          analytic: src?.analytic,
          window: {start: w.windowStart, end: w.windowEnd},
          aggregates: w.aggregates.values,
        }
        c.stepEmit(ctx)
        if (c.having && !c.having(ctx)) continue
        rows.push({ctx, acks: NONE, end: w.windowEnd, topic: (src?.meta.topic as string | undefined) ?? undefined})
      }
      // The window's acks ride on its last emitted row (released once); none emitted: its events are done.
      if (rows.length > kept) rows[rows.length - 1].acks = w.acks
      else if (w.acks.length > 0) this.opts.onRelease?.(w.acks)
    }
    if (this.order) {
      const order = this.order
      rows.sort((a, b) => {
        for (const o of order) {
          const d = compareValues(o.key(a.ctx), o.key(b.ctx)) ?? 0
          if (d !== 0) return o.desc ? -d : d
        }
        return 0
      })
    }
    if (this.plan.limit !== undefined && rows.length > this.plan.limit) {
      for (const r of rows.slice(this.plan.limit)) if (r.acks.length > 0) this.opts.onRelease?.(r.acks)
      rows = rows.slice(0, this.plan.limit)
    }
    // Every ack of this firing rides on its last row out (sorting may reorder rows, and sinks take rows in order).
    const acks = rows.length === 1 ? rows[0].acks : rows.flatMap((r) => r.acks)
    const first = out.length
    const projected = this.projected
    for (const r of rows) {
      c.project(r.ctx, projected)
      if (projected.length === 0) this.counters.empty++
      for (let i = 0; i < projected.length; i++) out.push({fields: projected[i], ts: r.end, topic: r.topic, acks: NONE})
      this.counters.out += projected.length
      projected.length = 0
    }
    if (out.length > first) out[out.length - 1].acks = acks
    else if (acks.length > 0) this.opts.onRelease?.(acks)
  }

  private compileJoin(j: JoinPlan, on: (row: RowContext) => boolean): Join {
    const table = this.opts.tables.get(j.table)
    const alias = j.alias
    const left = j.type === 'left'
    const eq = equiJoin(j.on, alias)
    if (eq && table) {
      let index = table.index(eq.column)
      let version = table.version
      const probe = compileExpression(eq.probe, {state: this.compiled.state})
      return (ctx, tables) => {
        // The table was read again (its file changed): the index of the new rows.
        if (table.version !== version) {
          index = table.index(eq.column)
          version = table.version
        }
        const k = indexKey(probe(ctx))
        const hit = k === undefined ? undefined : index.get(k)
        tables[alias] = hit ?? null
        return hit !== undefined || left
      }
    }
    return (ctx, tables) => {
      for (const candidate of table?.rows ?? []) {
        tables[alias] = candidate
        if (on(ctx)) return true
      }
      tables[alias] = null
      return left
    }
  }
}

/** `ON <expr without the table> = alias.column` (either side): a hash join. */
function equiJoin(on: BoundExpr, alias: string): {column: string; probe: BoundExpr} | undefined {
  if (on.kind !== 'compare' || on.op !== '=') return undefined
  const col = (e: BoundExpr) => (e.kind === 'tableField' && e.table === alias && e.path.length === 1 && typeof e.path[0] === 'string' ? e.path[0] : undefined)
  const l = col(on.left)
  const r = col(on.right)
  if (l !== undefined && !mentionsTable(on.right, alias)) return {column: l, probe: on.right}
  if (r !== undefined && !mentionsTable(on.left, alias)) return {column: r, probe: on.left}
  return undefined
}

function mentionsTable(e: BoundExpr, alias: string): boolean {
  return JSON.stringify(e, (k, v: unknown) => (k === 'spec' || k === 'loc' ? undefined : v)).includes(`"table":${JSON.stringify(alias)}`)
}
