/**
 * `iotd pipeline test`: config unit tests in the manner of Benthos. Each test feeds events into a source of the
 * pipeline (in memory, in arrival order), runs the real runtime — rules, windows, map, dead letter — with the
 * rule's sinks replaced by an in-memory one, and compares the rows (and optionally counters) with what it expects.
 */
import {existsSync} from 'node:fs'
import {z} from 'zod'
import {loadYamlConfig} from '../config/yaml-loader.js'
import {UsageError} from '../errors.js'
import type {LoadedPipeline} from './config/load.js'
import {pipelineTestSchema, type PipelineTest} from './config/schema.js'
import {runPipeline, type SourceInstance} from './runtime/run-pipeline.js'
import {createMemorySink, type MemorySink} from './sinks/memory.js'
import {NOOP_ACK, type PipelineRecord} from './types.js'

export interface TestResult {
  file: string
  name: string
  ok: boolean
  failures: string[]
  rows: Record<string, unknown>[]
}

const testFileSchema = z.strictObject({tests: z.array(pipelineTestSchema).min(1)})

/** `flow.yaml` -> `flow.test.yaml` next to it (the tests users keep beside a pipeline). */
export function companionTestFile(pipelineFile: string): string | undefined {
  const f = pipelineFile.replace(/\.ya?ml$/i, '.test.yaml')
  return f !== pipelineFile && existsSync(f) ? f : undefined
}

export function loadTestFile(file: string, env?: NodeJS.ProcessEnv): PipelineTest[] {
  return loadYamlConfig(file, testFileSchema, {env}).value.tests
}

const RESERVED = new Set(['_ts', '_topic', '_source'])

export async function runPipelineTest(pipeline: LoadedPipeline, test: PipelineTest, file: string): Promise<TestResult> {
  const rule = test.rule ? pipeline.rules.find((r) => r.name === test.rule) : pipeline.rules[0]
  if (!rule) throw new UsageError(`${file}: test "${test.name}": no rule named ${test.rule} (rules: ${pipeline.rules.map((r) => r.name).join(', ')})`)
  if (!test.rule && pipeline.rules.length > 1) {
    throw new UsageError(`${file}: test "${test.name}": the pipeline has ${pipeline.rules.length} rules; name one with rule:`)
  }
  const sourceName = test.source ?? pipeline.sources[0]?.name
  const src = pipeline.sources.find((s) => s.name === sourceName)
  if (!src) throw new UsageError(`${file}: test "${test.name}": no source named ${sourceName}`)

  const order: PipelineRecord[] = test.input.map((event, i) => {
    const fields: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(event)) if (!RESERVED.has(k)) fields[k] = v
    const name = typeof event._source === 'string' ? event._source : sourceName
    if (!pipeline.sources.some((s) => s.name === name)) throw new UsageError(`${file}: test "${test.name}": input[${i}]._source names no source: ${name}`)
    const ts = typeof event._ts === 'number' ? event._ts : typeof event._ts === 'string' ? Date.parse(event._ts) : 0
    const topic = typeof event._topic === 'string' ? event._topic : undefined
    return {ts, topic, fields, meta: {source: name, topic, position: `${test.name} input[${i}]`}}
  })
  // Every event goes through one feeder, in the test's order; the runtime applies each record's own source settings.
  const instances: SourceInstance[] = pipeline.sources.map((s) => ({
    name: s.name,
    type: s.spec.type,
    finite: true,
    timestampField: s.entry.timestamp,
    keyField: s.entry.key,
    source: {
      name: s.name,
      async *readBatches() {
        if (s.name === sourceName) for (const rec of order) yield [{record: rec, ack: NOOP_ACK}]
      },
      async *read() {},
      async close() {},
    },
  }))

  const sinks = new Map<string, MemorySink>()
  const warnings: string[] = []
  const summary = await runPipeline({
    pipeline,
    sources: instances,
    sinksFor: (r) => {
      const sink = createMemorySink(`${r.name}.test`)
      sinks.set(r.name, sink)
      return [{sink, type: 'memory'}]
    },
    deadLetterFile: null,
    endOfInput: test.endOfInput,
    warn: (m) => warnings.push(m),
  })
  const rows = (sinks.get(rule.name)?.rows ?? []).map((r) => r.fields as Record<string, unknown>)
  const failures: string[] = []
  if (summary.error) failures.push(`the run failed: ${summary.error}`)
  compareRows(test.expect, rows, failures)
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
  return {file, name: test.name, ok: failures.length === 0, failures, rows}
}

function compareRows(expected: readonly Record<string, unknown>[], actual: readonly Record<string, unknown>[], failures: string[]): void {
  const n = Math.max(expected.length, actual.length)
  for (let i = 0; i < n; i++) {
    const e = expected[i]
    const a = actual[i]
    if (e === undefined) failures.push(`row ${i + 1}: unexpected ${JSON.stringify(a)}`)
    else if (a === undefined) failures.push(`row ${i + 1}: missing, expected ${JSON.stringify(e)}`)
    else if (!sameValue(e, a)) failures.push(`row ${i + 1}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`)
    if (failures.length >= 10) {
      failures.push('…')
      return
    }
  }
  if (expected.length !== actual.length) failures.push(`expected ${expected.length} rows, got ${actual.length}`)
}

/** Structural equality; numbers equal within 1e-9 relative (avg of floats), and key order does not matter. */
export function sameValue(e: unknown, a: unknown): boolean {
  if (typeof e === 'number' && typeof a === 'number') return e === a || Math.abs(e - a) <= 1e-9 * Math.max(1, Math.abs(e), Math.abs(a))
  if (e === null || a === null || typeof e !== 'object' || typeof a !== 'object') return e === a || (e === null && a === undefined)
  if (Array.isArray(e) !== Array.isArray(a)) return false
  if (Array.isArray(e)) return e.length === (a as unknown[]).length && e.every((v, i) => sameValue(v, (a as unknown[])[i]))
  // `x: null` in an expected row also matches a row without x: rules leave null columns out (eKuiper's sendNil).
  const ek = Object.keys(e).filter((k) => (e as Record<string, unknown>)[k] !== null || Object.prototype.hasOwnProperty.call(a, k))
  const ak = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined)
  if (ek.length !== ak.length) return false
  return ek.every((k) => sameValue((e as Record<string, unknown>)[k], (a as Record<string, unknown>)[k]))
}
