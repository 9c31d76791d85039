/**
 * `iotd pipeline test`: config unit tests in the manner of Benthos. Each test feeds events into a source of the
 * pipeline (in memory, in arrival order), runs the real runtime — rules, windows, map, dead letter — with the
 * rule's sinks replaced by an in-memory one, and compares the rows (and optionally counters and dead-letter entries)
 * with what it expects. A test that cannot run (a bad `rule:`, `sql:` or input file) fails with the reason; the
 * other tests still run.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {parse as parseCsv} from 'csv-parse/sync'
import {z} from 'zod'
import {closestName} from '../config/did-you-mean.js'
import {parseDuration} from '../config/units.js'
import {loadYamlConfig} from '../config/yaml-loader.js'
import {planPipelineRule, loadPipeline, type LoadedPipeline, type LoadedRule} from './config/load.js'
import {pipelineTestSchema, ruleSchema, type PipelineTest} from './config/schema.js'
import {castCell, isPlainObject} from './records.js'
import {RulePlanError, RuleSyntaxError} from './rule/index.js'
import {runPipeline, type SourceInstance} from './runtime/run-pipeline.js'
import {createMemorySink, type MemorySink} from './sinks/memory.js'
import {createTable} from './tables.js'
import {NOOP_ACK, type DeadLetterEntry, type PipelineRecord} from './types.js'

export interface TestResult {
  file: string
  name: string
  ok: boolean
  failures: string[]
  rows: Record<string, unknown>[]
}

/** `tests:` with a list, or (as people write it first) the bare list. */
const testFileSchema = z.union([z.strictObject({tests: z.array(pipelineTestSchema).min(1)}), z.array(pipelineTestSchema).min(1)])

/** `flow.yaml` -> `flow.test.yaml` next to it (the tests users keep beside a pipeline). */
export function companionTestFile(pipelineFile: string): string | undefined {
  const f = pipelineFile.replace(/\.ya?ml$/i, '.test.yaml')
  return f !== pipelineFile && existsSync(f) ? f : undefined
}

export function loadTestFile(file: string, env?: NodeJS.ProcessEnv): PipelineTest[] {
  const v = loadYamlConfig(file, testFileSchema, {env}).value
  return Array.isArray(v) ? v : v.tests
}

const RESERVED = new Set(['_ts', '_topic', '_source'])

class TestSetupError extends Error {}

export async function runPipelineTest(loaded: LoadedPipeline, test: PipelineTest, file: string): Promise<TestResult> {
  try {
    return await runOne(loaded, test, file)
  } catch (error) {
    if (!(error instanceof TestSetupError) && !(error instanceof Error && 'exitCode' in error)) throw error
    return {file, name: test.name, ok: false, failures: [(error as Error).message], rows: []}
  }
}

async function runOne(loaded: LoadedPipeline, test: PipelineTest, file: string): Promise<TestResult> {
  let pipeline = loaded
  // Per-test environment: the file is read again with it, so `${env:NAME}` takes the test's value.
  if (test.env) pipeline = loadPipeline(loaded.file, {env: {...process.env, ...test.env}})
  if (test.tables) pipeline = withTables(pipeline, test.tables, file)
  const rule = pickRule(pipeline, test)
  if (test.sql !== undefined) pipeline = {...pipeline, rules: [rule]}
  const sourceName = test.source ?? pipeline.sources[0]?.name
  if (!pipeline.sources.some((s) => s.name === sourceName)) throw new TestSetupError(`no source named ${sourceName} (sources: ${pipeline.sources.map((s) => s.name).join(', ')})`)

  const events = [...test.input, ...(test.inputFile ? readInputFile(resolve(dirname(file), test.inputFile)) : [])]
  // Input items in order: an event, or `advance: 30s` (time moves on without an event).
  const steps: ({advanceMs: number} | {event: Record<string, unknown>; i: number})[] = events.map((event, i) => {
    if (isAdvance(event)) {
      try {
        return {advanceMs: parseDuration(event.advance as string | number)}
      } catch (error) {
        throw new TestSetupError(`input[${i}].advance: ${(error as Error).message}`)
      }
    }
    const name = typeof event._source === 'string' ? event._source : sourceName
    if (!pipeline.sources.some((s) => s.name === name)) throw new TestSetupError(`input[${i}]._source names no source: ${name}`)
    return {event, i}
  })
  /** Test time: the latest `_ts` or advance; an event without `_ts` arrives at it. */
  let clock = 0
  let advance: ((ms: number) => number) | undefined
  const recordOf = (event: Record<string, unknown>, i: number): PipelineRecord => {
    const fields: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(event)) if (!RESERVED.has(k)) fields[k] = v
    const name = typeof event._source === 'string' ? event._source : sourceName
    const ts = typeof event._ts === 'number' ? event._ts : typeof event._ts === 'string' ? Date.parse(event._ts) : clock
    if (Number.isFinite(ts) && ts > clock) clock = ts
    const topic = typeof event._topic === 'string' ? event._topic : undefined
    return {ts, topic, fields, meta: {source: name, topic, position: `${test.name} input[${i}]`}}
  }
  // Every event goes through one feeder, in the test's order; the runtime applies each record's own source settings.
  const instances: SourceInstance[] = pipeline.sources.map((s) => ({
    name: s.name,
    type: s.spec.type,
    finite: true,
    timestampField: s.entry.timestamp?.field,
    timestampFormat: s.entry.timestamp?.format,
    keyField: s.entry.key,
    source: {
      name: s.name,
      async *readBatches() {
        if (s.name !== sourceName) return
        for (const step of steps) {
          if ('advanceMs' in step) clock = advance!(step.advanceMs)
          else yield [{record: recordOf(step.event, step.i), ack: NOOP_ACK}]
        }
      },
      async *read() {},
      async close() {},
    },
  }))

  const sinks = new Map<string, MemorySink>()
  const deadLetters: DeadLetterEntry[] = []
  const summary = await runPipeline({
    pipeline,
    sources: instances,
    sinksFor: (r) => {
      const sink = createMemorySink(`${r.name}.test`)
      sinks.set(r.name, sink)
      return [{sink, type: 'memory'}]
    },
    deadLetterFile: null,
    reloadTables: false,
    onAdvance: (f) => (advance = f),
    onDeadLetter: (e) => deadLetters.push(e),
    endOfInput: test.endOfInput,
    warn: () => {},
  })
  const rows = (sinks.get(rule.name)?.rows ?? []).map((r) => r.fields as Record<string, unknown>)
  const failures: string[] = []
  if (summary.error) failures.push(`the run failed: ${summary.error}`)
  compareRows(test.expect, rows, failures, test.tolerance)
  if (test.metrics) {
    const stats = summary.rules.find((r) => r.name === rule.name)!
    const actual: Record<string, number> = {
      lateDropped: stats.lateDropped,
      windowsFired: stats.windowsFired,
      filtered: stats.filtered,
      deadLettered: summary.deadLetter.count,
    }
    for (const [k, v] of Object.entries(test.metrics)) {
      if (v !== undefined && actual[k] !== v) failures.push(`metric ${k}: expected ${v}, got ${actual[k]}`)
    }
  }
  if (test.deadLetter) checkDeadLetters(test.deadLetter, deadLetters, failures)
  if (test.sinks) checkSinks(test.sinks, rule, sinks.get(rule.name)?.rows ?? [], failures)
  return {file, name: test.name, ok: failures.length === 0, failures, rows}
}

/** `- advance: 30s` in `input:`: an item with that one key is time passing, not an event. */
function isAdvance(event: Record<string, unknown>): boolean {
  const keys = Object.keys(event)
  return keys.length === 1 && keys[0] === 'advance'
}

/**
 * `sinks:` of a test: per sink of the rule (by name), where each row would go — the MQTT topic, the NATS subject, the
 * PostgreSQL upsert key — as the sink itself would compute it from the row.
 */
function checkSinks(want: NonNullable<PipelineTest['sinks']>, rule: LoadedRule, records: readonly PipelineRecord[], failures: string[]): void {
  for (const [name, expected] of Object.entries(want)) {
    const sink = rule.sinks.find((s) => s.name === name)
    if (!sink) {
      const names = rule.sinks.map((s) => s.name)
      const hint = closestName(name, names)
      failures.push(`sinks.${name}: rule ${rule.name} has no sink of that name${hint ? `; did you mean ${hint}?` : ''} (its sinks: ${names.join(', ') || 'none'})`)
      continue
    }
    const destination = sink.spec.destination?.(sink.options)
    if (!destination) {
      failures.push(`sinks.${name}: a ${sink.spec.type} sink sends every row to the same place; there is no topic or key to check`)
      continue
    }
    const got = records.map(destination)
    for (let i = 0; i < Math.max(expected.length, got.length); i++) {
      const e = expected[i]
      const a = got[i]
      if (e === undefined) failures.push(`sinks.${name} row ${i + 1}: unexpected ${JSON.stringify(a)}`)
      else if (a === undefined) failures.push(`sinks.${name} row ${i + 1}: missing, expected ${JSON.stringify(e)}`)
      else {
        for (const [k, v] of Object.entries(e)) {
          if (!(k in a)) failures.push(`sinks.${name} row ${i + 1}: a ${sink.spec.type} sink has no ${k} (it has ${Object.keys(a).join(', ')})`)
          else if (!sameValue(v, a[k])) failures.push(`sinks.${name} row ${i + 1}: ${k} ${JSON.stringify(a[k])}, expected ${JSON.stringify(v)}`)
        }
      }
    }
  }
}

/** The rule a test checks: its own `sql:`, the one named by `rule:`, or the pipeline's only rule. */
function pickRule(pipeline: LoadedPipeline, test: PipelineTest): LoadedRule {
  if (test.sql !== undefined) {
    if (test.rule !== undefined) throw new TestSetupError('give either rule: (a rule of the pipeline) or sql: (a rule of its own), not both')
    try {
      const config = ruleSchema.parse({name: 'test', sql: test.sql})
      return {name: 'test', index: 0, config, plan: planPipelineRule(pipeline, test.sql), sinks: []}
    } catch (error) {
      if (error instanceof RuleSyntaxError || error instanceof RulePlanError) throw new TestSetupError(`sql: ${error.formatWithCaret(test.sql)}`)
      throw error
    }
  }
  const names = pipeline.rules.map((r) => r.name).join(', ')
  if (test.rule !== undefined) {
    const rule = pipeline.rules.find((r) => r.name === test.rule)
    if (!rule) throw new TestSetupError(`no rule named ${test.rule} (rules: ${names})`)
    return rule
  }
  if (pipeline.rules.length > 1) throw new TestSetupError(`the pipeline has ${pipeline.rules.length} rules (${names}); name one with rule:`)
  return pipeline.rules[0]
}

function withTables(pipeline: LoadedPipeline, overrides: NonNullable<PipelineTest['tables']>, file: string): LoadedPipeline {
  const tables = new Map(pipeline.tables)
  for (const [name, rows] of Object.entries(overrides)) {
    if (!tables.has(name)) throw new TestSetupError(`tables.${name}: the pipeline declares no such table (tables: ${[...tables.keys()].join(', ') || 'none'})`)
    tables.set(name, createTable(name, Array.isArray(rows) ? rows : readInputFile(resolve(dirname(file), rows.file))))
  }
  return {...pipeline, tables}
}

/** JSON lines (`.jsonl`/`.ndjson`), a JSON array (`.json`) or CSV with a header (numbers and booleans cast). */
function readInputFile(path: string): Record<string, unknown>[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new TestSetupError(`input file not found: ${path}`)
  }
  if (/\.csv$/i.test(path)) {
    return parseCsv(text, {columns: true, skip_empty_lines: true, trim: true, cast: (v: string) => castCell(v)}) as Record<string, unknown>[]
  }
  const out: Record<string, unknown>[] = []
  if (/\.json$/i.test(path)) {
    const data: unknown = JSON.parse(text)
    if (!Array.isArray(data) || !data.every(isPlainObject)) throw new TestSetupError(`${path} must hold a JSON array of objects`)
    return data
  }
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let v: unknown
    try {
      v = JSON.parse(line)
    } catch (error) {
      throw new TestSetupError(`${path}:${i + 1}: not JSON (${(error as Error).message})`)
    }
    if (!isPlainObject(v)) throw new TestSetupError(`${path}:${i + 1}: each line must be a JSON object`)
    out.push(v)
  })
  return out
}

function checkDeadLetters(want: NonNullable<PipelineTest['deadLetter']>, got: readonly DeadLetterEntry[], failures: string[]): void {
  if (want.count !== undefined && want.count !== got.length) failures.push(`dead letter: expected ${want.count} entries, got ${got.length}`)
  want.entries?.forEach((w, i) => {
    const g = got[i]
    if (!g) {
      failures.push(`dead letter entry ${i + 1}: missing, expected ${JSON.stringify(w)}`)
      return
    }
    if (w.stage !== undefined && g.stage !== w.stage) failures.push(`dead letter entry ${i + 1}: stage ${JSON.stringify(g.stage)}, expected ${JSON.stringify(w.stage)}`)
    if (w.reason !== undefined && !textMatches(g.reason, w.reason)) failures.push(`dead letter entry ${i + 1}: reason ${JSON.stringify(g.reason)} does not contain ${JSON.stringify(w.reason)}`)
    if (w.raw !== undefined && !textMatches(g.raw ?? '', w.raw)) failures.push(`dead letter entry ${i + 1}: raw ${JSON.stringify(g.raw)} does not contain ${JSON.stringify(w.raw)}`)
    if (w.fields !== undefined && !sameValue(w.fields, g.record?.fields ?? null)) {
      failures.push(`dead letter entry ${i + 1}: fields ${JSON.stringify(g.record?.fields ?? null)}, expected ${JSON.stringify(w.fields)}`)
    }
  })
}

/** `text` contains `want`, or matches it when written as /regex/. */
function textMatches(text: string, want: string): boolean {
  const re = /^\/(.*)\/([a-z]*)$/.exec(want)
  return re ? new RegExp(re[1], re[2]).test(text) : text.includes(want)
}

function compareRows(expected: readonly Record<string, unknown>[], actual: readonly Record<string, unknown>[], failures: string[], tolerance?: number): void {
  const n = Math.max(expected.length, actual.length)
  for (let i = 0; i < n; i++) {
    const e = expected[i]
    const a = actual[i]
    if (e === undefined) failures.push(`row ${i + 1}: unexpected ${JSON.stringify(a)}`)
    else if (a === undefined) failures.push(`row ${i + 1}: missing, expected ${JSON.stringify(e)}`)
    else if (!sameValue(e, a, tolerance)) failures.push(`row ${i + 1}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`)
    if (failures.length >= 10) {
      failures.push('…')
      return
    }
  }
  if (expected.length !== actual.length) failures.push(`expected ${expected.length} rows, got ${actual.length}`)
}

/**
 * An expected value written as a check instead of a value: `{$near: [84.48, 0.01]}`, `{$range: [lo, hi]}`,
 * `{$contains: text}`, `{$matches: regex}`, `{$type: number|string|boolean|object|array}`, `{$any: true}`.
 */
function predicateOf(e: unknown): [string, unknown] | undefined {
  if (!isPlainObject(e)) return undefined
  const keys = Object.keys(e)
  return keys.length === 1 && keys[0].startsWith('$') ? [keys[0], e[keys[0]]] : undefined
}

function checkPredicate(op: string, arg: unknown, a: unknown): boolean {
  switch (op) {
    case '$near': {
      const [v, within] = Array.isArray(arg) ? arg : [arg, 1e-6]
      return typeof a === 'number' && typeof v === 'number' && typeof within === 'number' && Math.abs(a - v) <= within
    }
    case '$range': {
      const [lo, hi] = Array.isArray(arg) ? arg : []
      return typeof a === 'number' && typeof lo === 'number' && typeof hi === 'number' && a >= lo && a <= hi
    }
    case '$contains':
      if (Array.isArray(a)) return a.some((x) => sameValue(arg, x))
      return typeof a === 'string' && typeof arg === 'string' && a.includes(arg)
    case '$matches':
      return typeof a === 'string' && typeof arg === 'string' && new RegExp(arg).test(a)
    case '$type':
      return arg === 'array' ? Array.isArray(a) : arg === 'object' ? isPlainObject(a) : typeof a === arg
    case '$any':
      return a !== undefined && a !== null
    default:
      return false
  }
}

export const PREDICATES = ['$near', '$range', '$contains', '$matches', '$type', '$any'] as const

/**
 * Structural equality; numbers equal within `tolerance` (absolute) or else 1e-9 relative (avg of floats); key order
 * does not matter; `x: null` also matches a row without x; predicates (see predicateOf) test instead of comparing.
 */
export function sameValue(e: unknown, a: unknown, tolerance?: number): boolean {
  const pred = predicateOf(e)
  if (pred) return checkPredicate(pred[0], pred[1], a)
  if (typeof e === 'number' && typeof a === 'number') {
    if (tolerance !== undefined) return Math.abs(e - a) <= tolerance
    return e === a || Math.abs(e - a) <= 1e-9 * Math.max(1, Math.abs(e), Math.abs(a))
  }
  if (e === null || a === null || typeof e !== 'object' || typeof a !== 'object') return e === a || (e === null && a === undefined)
  if (Array.isArray(e) !== Array.isArray(a)) return false
  if (Array.isArray(e)) return e.length === (a as unknown[]).length && e.every((v, i) => sameValue(v, (a as unknown[])[i], tolerance))
  // `x: null` in an expected row also matches a row without x: rules leave null columns out (eKuiper's sendNil).
  const ek = Object.keys(e).filter((k) => (e as Record<string, unknown>)[k] !== null || Object.prototype.hasOwnProperty.call(a, k))
  const ak = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined)
  if (ek.length !== ak.length) return false
  return ek.every((k) => sameValue((e as Record<string, unknown>)[k], (a as Record<string, unknown>)[k], tolerance))
}
