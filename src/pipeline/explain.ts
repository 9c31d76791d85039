/**
 * `iotd pipeline explain`: the plan of every rule as the runtime will execute it — source -> join -> filter ->
 * window (keyed by …) -> having -> project -> sinks — with the SQL text of each part quoted from the rule.
 */
import type {LoadedPipeline, LoadedRule} from './config/load.js'
import type {BoundExpr, RulePlan, SourceSpan} from './rule/index.js'
import {sinkBatching} from './runtime/sink-runner.js'
import {formatWindowMs as ms, windowKind} from './window/index.js'

export interface RuleExplanation {
  name: string
  sql: string
  from: string
  joins: string[]
  where?: string
  reject?: string
  window?: {kind: string; text: string; keyedBy: string[]; filter?: string; over?: string}
  aggregates: string[]
  having?: string
  select: string[]
  orderBy: string[]
  limit?: number
  map?: string
  time: string
  sinks: {name: string; type: string; batch: string}[]
  warnings: string[]
}

export interface PipelineExplanation {
  schemaVersion: 1
  pipeline: string
  file: string
  sources: {name: string; type: string; finite: boolean; eventTime: string}[]
  tables: {name: string; rows: number; columns: string[]}[]
  rules: RuleExplanation[]
  deadLetter?: string
}

function text(sql: string, loc: SourceSpan | undefined): string {
  return loc ? sql.slice(loc.offset, loc.endOffset).replace(/\s+/g, ' ').trim() : ''
}

function exprText(sql: string, e: BoundExpr | undefined): string | undefined {
  return e ? text(sql, e.loc) : undefined
}

function windowText(plan: RulePlan): string {
  const w = plan.window!
  return windowKind(w.kind)!.explain(w)
}

function explainRule(p: LoadedPipeline, r: LoadedRule): RuleExplanation {
  const sql = r.config.sql
  const plan = r.plan
  const src = plan.source
  const from = src.kind === 'topic' ? `topic filter "${src.filter}" (records of any source)` : `source ${src.name}`
  const timed = p.sources.filter((s) => src.kind === 'topic' || s.name === src.name)
  const eventTime = timed.every((s) => s.entry.timestamp !== undefined || s.spec.finite)
  return {
    name: r.name,
    sql: sql.trim(),
    from,
    joins: plan.joins.map((j) => `${j.type === 'left' ? 'LEFT JOIN' : 'JOIN'} ${j.table}${j.alias !== j.table ? ` AS ${j.alias}` : ''} ON ${text(sql, j.on.loc)}`),
    where: exprText(sql, plan.where),
    reject: r.config.reject,
    window: plan.window
      ? {
          kind: plan.window.kind,
          text: windowText(plan),
          keyedBy: plan.groupKeys.map((k) => k.name),
          filter: exprText(sql, plan.window.filter),
          over: exprText(sql, plan.window.over),
        }
      : undefined,
    aggregates: plan.aggregates.map((a) => text(sql, a.loc)),
    having: exprText(sql, plan.having),
    select: plan.projections.map((pr) => (pr.kind === 'expr' ? `${pr.name} = ${text(sql, pr.expr.loc)}` : pr.kind === 'star' ? (pr.from === 'payload' ? '*' : `${pr.from.table}.*`) : text(sql, pr.loc))),
    orderBy: plan.orderBy.map((o) => `${text(sql, o.expr.loc)} ${o.direction.toUpperCase()}`),
    limit: plan.limit,
    map: r.config.map,
    time: `${eventTime ? 'event time' : 'processing time'}, lateTolerance ${ms(r.config.lateTolerance)}${r.config.offset ? `, offset ${ms(r.config.offset)}` : ''}, late events: ${r.config.late === 'deadLetter' ? 'dead letter' : 'counted and dropped'}`,
    sinks: r.sinks.map((s) => {
      const {count, intervalMs} = sinkBatching(s.entry.batch, s.spec.batch)
      const partial = intervalMs > 0 ? `or every ${ms(intervalMs)}` : 'or what one source batch gives'
      return {name: s.name, type: s.spec.type, batch: count > 1 ? `batches of up to ${count} ${partial}` : 'row by row'}
    }),
    warnings: p.warnings.filter((w) => w.message.startsWith(`rule ${r.name}:`)).map((w) => w.message),
  }
}

export function explainPipeline(p: LoadedPipeline): PipelineExplanation {
  return {
    schemaVersion: 1,
    pipeline: p.name,
    file: p.file,
    sources: p.sources.map((s) => ({
      name: s.name,
      type: s.spec.type,
      finite: s.spec.finite === true,
      eventTime: s.entry.timestamp ? `field ${s.entry.timestamp.field}${s.entry.timestamp.format ? ` (${s.entry.timestamp.format})` : ''}` : s.spec.finite ? "the source's own timestamps" : 'arrival time (processing time)',
    })),
    tables: [...p.tables.values()].map((t) => ({name: t.name, rows: t.rows.length, columns: [...t.columns]})),
    rules: p.rules.map((r) => explainRule(p, r)),
    deadLetter: p.config.deadLetter,
  }
}

export function formatExplanation(e: PipelineExplanation): string {
  const lines: string[] = [`pipeline ${e.pipeline} (${e.file})`, '', 'sources']
  for (const s of e.sources) lines.push(`  ${s.name}  ${s.type}${s.finite ? ' (finite: windows flush at its end)' : ' (live)'}; event time: ${s.eventTime}`)
  if (e.tables.length > 0) {
    lines.push('tables')
    for (const t of e.tables) lines.push(`  ${t.name}  ${t.rows} rows (${t.columns.join(', ')})`)
  }
  for (const r of e.rules) {
    lines.push('', `rule ${r.name}`)
    for (const l of r.sql.split('\n')) lines.push(`  | ${l}`)
    lines.push(`  source    ${r.from}`)
    for (const j of r.joins) lines.push(`  join      ${j}`)
    if (r.reject) lines.push(`  reject    ${r.reject} -> dead letter`)
    if (r.where) lines.push(`  filter    WHERE ${r.where}`)
    if (r.window) {
      lines.push(`  window    ${r.window.text}${r.window.keyedBy.length ? `, keyed by ${r.window.keyedBy.join(', ')}` : ''}; ${r.time}`)
      if (r.window.filter) lines.push(`            FILTER (WHERE ${r.window.filter})`)
      if (r.window.over) lines.push(`            OVER (WHEN ${r.window.over})`)
      if (r.aggregates.length) lines.push(`  aggregate ${r.aggregates.join(', ')}`)
    }
    if (r.having) lines.push(`  having    ${r.having}`)
    lines.push(`  project   ${r.select.join(', ')}`)
    if (r.orderBy.length) lines.push(`  order     ${r.orderBy.join(', ')} (per firing)`)
    if (r.limit !== undefined) lines.push(`  limit     ${r.limit} (per firing)`)
    if (r.map) lines.push(`  map       JSONata: ${r.map.replace(/\s+/g, ' ')}`)
    lines.push(`  sinks     ${r.sinks.length ? r.sinks.map((s) => `${s.name} (${s.type}, ${s.batch})`).join(', ') : '(none)'}`)
    for (const w of r.warnings) lines.push(`  warning   ${w}`)
  }
  if (e.deadLetter) lines.push('', `dead letter: ${e.deadLetter}`)
  return `${lines.join('\n')}\n`
}
