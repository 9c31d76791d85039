/**
 * `--where` and `--fields` for tail/record/replay: the pipeline's SQL expression engine over one message. Bare
 * `topic`, `qos`, `retain`, `clientid` and `messageid` mean the message's own (as meta(topic) does), so
 * `temp > 30 AND topic LIKE 'acme/%'` reads as people write it.
 */
import {UsageError} from '../errors.js'
import {compilePredicate, formatCaret, META_KEYS, parseRule, planRule, RulePlanError, RuleSyntaxError, type BoundExpr, type Predicate, type RowContext} from '../pipeline/rule/index.js'
import type {PipelineRecord} from '../pipeline/types.js'

const META_NAMES = new Set<string>(META_KEYS.filter((k) => k !== 'timestamp'))

/** Compiles a WHERE condition; a syntax or planning error is a UsageError with a caret under the place. */
export function compileWhere(where: string, flag = '--where'): (r: PipelineRecord) => boolean {
  let predicate: Predicate
  const prefix = 'SELECT * FROM s WHERE '
  try {
    const plan = planRule(parseRule(prefix + where))
    if (!plan.where) throw new UsageError(`${flag}: no condition`)
    predicate = compilePredicate(metaForBareNames(plan.where))
  } catch (error) {
    if (error instanceof RuleSyntaxError || error instanceof RulePlanError) {
      const col = Math.max(1, (error as {col?: number}).col ?? 1) - prefix.length
      const detail = (error as {detail?: string}).detail ?? error.message
      throw new UsageError(`${flag}: ${detail}\n  ${formatCaret(where, {line: 1, col: Math.max(1, col), offset: Math.max(0, col - 1)}).replace(/\n/, '\n  ')}`)
    }
    throw error
  }
  const row: RowContext = {payload: undefined, meta: {}}
  return (r) => {
    row.payload = r.fields
    row.meta = {topic: r.topic ?? r.meta.topic, qos: r.meta.qos, retain: r.meta.retain, clientid: r.meta.clientid, messageid: r.meta.messageid, timestamp: r.ts}
    return predicate(row)
  }
}

/** Rewrites payload fields named like metadata (a one-step path) into metadata reads. */
function metaForBareNames(e: BoundExpr): BoundExpr {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (!node || typeof node !== 'object') return node
    const n = node as Record<string, unknown>
    if (n.kind === 'field' && Array.isArray(n.path) && n.path.length === 1 && typeof n.path[0] === 'string' && META_NAMES.has(n.path[0].toLowerCase())) {
      return {kind: 'meta', key: n.path[0].toLowerCase(), loc: n.loc}
    }
    // Function specs are shared objects with closures: keep them as they are.
    if (n.kind === undefined) return node
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(n)) out[k] = k === 'spec' || k === 'loc' ? v : walk(v)
    return out
  }
  return walk(e) as BoundExpr
}

/** `--fields a,b.c,topic`: picks those paths from the payload (topic, qos, retain, ts from the message). */
export function compileFields(fields: readonly string[]): (r: PipelineRecord) => Record<string, unknown> {
  const paths = fields.map((f) => ({name: f, steps: f.split('.')}))
  return (r) => {
    const out: Record<string, unknown> = {}
    for (const {name, steps} of paths) {
      let v: unknown
      if (steps.length === 1 && (name === 'topic' || name === 'qos' || name === 'retain') && !hasKey(r.fields, name)) v = name === 'topic' ? (r.topic ?? r.meta.topic) : r.meta[name]
      else if (name === 'ts' && !hasKey(r.fields, 'ts')) v = new Date(r.ts).toISOString()
      else {
        v = r.fields
        for (const k of steps) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined
      }
      out[name] = v === undefined ? null : v
    }
    return out
  }
}

function hasKey(fields: unknown, key: string): boolean {
  return fields !== null && typeof fields === 'object' && key in (fields as object)
}
