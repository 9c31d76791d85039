/**
 * What a checkpoint keeps of the last row of a window: only what emitting the window reads from it. A window row
 * is projected from the window's aggregates and its last event (eKuiper's value for ungrouped columns, the output
 * topic), so of that event a checkpoint needs the payload fields the projection, HAVING and ORDER BY read, the
 * metadata they read plus the topic, the key, joined table rows and row-phase analytic values when the rule has
 * them — not the whole event. A rule that selects the whole payload (`*`) keeps it whole.
 *
 * Many rows at once are stored as columns (window/columns.ts): one per payload field, metadata field, key, …
 */
import {forEachChild, type BoundExpr, type RowContext, type RulePlan} from '../rule/index.js'
import {fromColumn, toColumn, type Column} from '../window/columns.js'

interface SavedRows {
  n: number
  /** Index i is 1 where row i was undefined (a window without a row); absent when every row is there. */
  absent?: Column
  /** Whole payloads (a rule reading all of it), or one column per field of `payloadFields`. */
  payload: Column | Column[]
  payloadFields?: string[]
  /** Whole metadata, or one column per field of `metaFields`. */
  meta: Column | Column[]
  metaFields?: string[]
  key: Column
  tables?: Column
  analytic?: Column
}

export class SavedRowShape {
  /** Top-level payload fields emitting reads; undefined: the whole payload. */
  private readonly fields?: string[]
  /** Metadata fields emitting reads (always the topic: it becomes the row's topic); undefined: all of them. */
  private readonly metaKeys?: string[]
  private readonly tables: boolean
  private readonly analytic: boolean

  constructor(plan: RulePlan) {
    const fields = new Set<string>()
    const meta = new Set<string>(['topic'])
    let wholePayload = false
    let wholeMeta = false
    const visit = (e: BoundExpr): void => {
      if (e.kind === 'field') {
        const head = e.path[0]
        if (typeof head === 'string') fields.add(head)
        else wholePayload = true
      } else if (e.kind === 'meta') {
        if (e.key === '*') wholeMeta = true
        else meta.add(e.key)
      }
      forEachChild(e, visit)
    }
    for (const p of plan.projections) {
      if (p.kind === 'star') {
        if (p.from === 'payload') wholePayload = true
        for (const r of p.replace ?? []) visit(r.expr)
      } else if (p.kind === 'changedCols') {
        if (p.star) wholePayload = true
        for (const c of p.columns) visit(c.expr)
      } else visit(p.expr)
    }
    if (plan.having) visit(plan.having)
    for (const o of plan.orderBy) visit(o.expr)
    for (const a of plan.analytics) if (a.phase === 'emit') visit(a)
    this.fields = wholePayload || plan.analysis.selectsAll ? undefined : [...fields]
    this.metaKeys = wholeMeta ? undefined : [...meta]
    this.tables = plan.joins.length > 0
    this.analytic = plan.analytics.some((a) => a.phase === 'row')
  }

  /** One row as checkpoint data (session, count and sliding windows save window by window). */
  one(row: RowContext | undefined): unknown {
    if (row === undefined) return undefined
    return this.many([row])
  }

  fromOne(data: unknown): RowContext | undefined {
    return data === undefined ? undefined : this.fromMany(data)[0]
  }

  /** Many rows as columns (`fromMany` gives them back). */
  many(rows: readonly (RowContext | undefined)[]): unknown {
    const n = rows.length
    let absent: Column | undefined
    if (rows.some((r) => r === undefined)) absent = toColumn(rows.map((r) => (r === undefined ? 1 : 0)))
    const payloads = rows.map((r) => r?.payload)
    const fields = this.fields
    // Field columns need object payloads; anything else (a text payload, an array) is kept as it is.
    const byField = fields !== undefined && payloads.every((p) => p === undefined || (p !== null && typeof p === 'object' && !Array.isArray(p)))
    const out: SavedRows = {
      n,
      absent,
      payload: byField ? fields.map((f) => toColumn(payloads.map((p) => (p as Record<string, unknown> | undefined)?.[f]))) : toColumn(payloads),
      payloadFields: byField ? fields : undefined,
      meta: this.metaKeys ? this.metaKeys.map((k) => toColumn(rows.map((r) => r?.meta[k]))) : toColumn(rows.map((r) => r?.meta)),
      metaFields: this.metaKeys,
      key: toColumn(rows.map((r) => r?.key)),
    }
    if (this.tables) out.tables = toColumn(rows.map((r) => r?.tables))
    if (this.analytic) out.analytic = toColumn(rows.map((r) => r?.analytic))
    return out
  }

  fromMany(data: unknown): (RowContext | undefined)[] {
    const d = data as SavedRows
    const n = d.n
    const absent = d.absent ? fromColumn(d.absent, n) : undefined
    const payloadCols = Array.isArray(d.payload) ? d.payload.map((c) => fromColumn(c, n)) : undefined
    const payloads = Array.isArray(d.payload) ? undefined : fromColumn(d.payload, n)
    const metaCols = Array.isArray(d.meta) ? d.meta.map((c) => fromColumn(c, n)) : undefined
    const metas = Array.isArray(d.meta) ? undefined : fromColumn(d.meta, n)
    const keys = fromColumn(d.key, n)
    const tables = d.tables ? fromColumn(d.tables, n) : undefined
    const analytic = d.analytic ? fromColumn(d.analytic, n) : undefined
    const fields = d.payloadFields ?? []
    const metaKeys = d.metaFields ?? []
    const out: (RowContext | undefined)[] = new Array(n)
    for (let i = 0; i < n; i++) {
      if (absent?.[i] === 1) {
        out[i] = undefined
        continue
      }
      let payload: unknown
      if (payloadCols) {
        const p: Record<string, unknown> = {}
        for (let f = 0; f < payloadCols.length; f++) {
          const v = payloadCols[f][i]
          if (v !== undefined) p[fields[f]] = v
        }
        payload = p
      } else payload = payloads![i]
      let meta: RowContext['meta']
      if (metaCols) {
        meta = {}
        for (let k = 0; k < metaCols.length; k++) {
          const v = metaCols[k][i]
          if (v !== undefined) meta[metaKeys[k]] = v
        }
      } else meta = (metas![i] ?? {}) as RowContext['meta']
      const row: RowContext = {payload, meta}
      if (keys[i] !== undefined) row.key = keys[i]
      if (tables?.[i] !== undefined) row.tables = tables[i] as RowContext['tables']
      if (analytic?.[i] !== undefined) row.analytic = analytic[i] as unknown[]
      out[i] = row
    }
    return out
  }
}
