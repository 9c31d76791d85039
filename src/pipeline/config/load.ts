/**
 * Reads a pipeline file: the one YAML loader (config/yaml-loader.ts: positions, `${env:NAME}`), the file schema,
 * then each source and sink against its registered spec, each table file, and each rule's SQL (parse + plan).
 * Every problem comes back at once as `file:line:col: message` (ConfigError, exit 2); warnings do not stop a run.
 */
import {dirname, extname, resolve} from 'node:path'
import {parseDocument} from 'yaml'
import {z} from 'zod'
import {closestName} from '../../config/did-you-mean.js'
import {isMissingKey, issueMessage, knownKeysAt, loadYamlConfig, readConfigText, type LoadedConfig} from '../../config/yaml-loader.js'
import {isWrongShape} from '../../config/shape-dispatch.js'
import {ConfigError, type ConfigProblem} from '../../errors.js'
import {formatCaret, parseRule, planRule, RulePlanError, RuleSyntaxError, type BoundExpr, type RulePlan, type RuleProblem} from '../rule/index.js'
import {sinkSpec, sourceSpec, SINK_SPECS, SOURCE_SPECS} from '../registry.js'
import {compileMap} from '../rule/map-step.js'
import {loadTable, type LookupTable} from '../tables.js'
import {EVENT_TIME_FORMATS, eventTimeReader} from '../event-time.js'
import {windowKind} from '../window/index.js'
import type {ComponentEnv, ComponentProblem, SinkSpec, SourceSpec} from '../types.js'
import {pipelineSchema, sinkCommonShape, sourceCommonShape, type PipelineFile, type RuleConfig, type SinkEntry, type SourceEntry} from './schema.js'

export interface LoadedSource {
  name: string
  entry: SourceEntry
  spec: SourceSpec<unknown>
  options: unknown
}

export interface LoadedSink {
  name: string
  entry: SinkEntry
  spec: SinkSpec<unknown>
  options: unknown
}

export interface LoadedRule {
  name: string
  index: number
  config: RuleConfig
  plan: RulePlan
  /** The `reject:` condition, bound against the rule's source and tables. */
  reject?: BoundExpr
  sinks: LoadedSink[]
}

export interface LoadedPipeline {
  file: string
  baseDir: string
  name: string
  config: PipelineFile
  sources: LoadedSource[]
  tables: Map<string, LookupTable>
  rules: LoadedRule[]
  /** Problems that do not stop a run (planner warnings, eKuiper differences), with positions. */
  warnings: ConfigProblem[]
}

export interface LoadPipelineOptions {
  env?: NodeJS.ProcessEnv
  /** Text instead of reading the file (the file name is still used in messages and for relative paths). */
  text?: string
  /** `--set path=value` overrides, applied to the document before validation. */
  set?: readonly string[]
}

const SOURCE_COMMON = new Set(Object.keys(sourceCommonShape))
const SINK_COMMON = new Set(Object.keys(sinkCommonShape))

export function loadPipeline(file: string, options: LoadPipelineOptions = {}): LoadedPipeline {
  let text = options.text ?? readConfigText(file)
  if (options.set && options.set.length > 0) text = applyOverrides(text, options.set, file)
  const env = options.env ?? process.env
  let loaded: LoadedConfig<PipelineFile>
  try {
    loaded = loadYamlConfig(file, pipelineSchema, {text, env})
  } catch (error) {
    // One pass: a wrong `version:` or key must not hide the problems of the sources and sinks (issue #16, item 8).
    if (!(error instanceof ConfigError)) throw error
    const more = componentProblems(file, text, {baseDir: dirname(resolve(file)), env}).filter((p) => !error.problems.some((q) => q.line === p.line && q.col === p.col))
    throw new ConfigError([...error.problems, ...more].sort((x, y) => (x.line ?? 0) - (y.line ?? 0) || (x.col ?? 0) - (y.col ?? 0)))
  }
  const cfg = loaded.value
  const baseDir = dirname(resolve(file))
  const componentEnv: ComponentEnv = {baseDir, env}
  const problems: ConfigProblem[] = []
  const warnings: ConfigProblem[] = []
  const at = (path: readonly PropertyKey[], key = false) => loaded.locate(path, {key}) ?? {line: 1, col: 1}

  const sources: LoadedSource[] = []
  for (const [name, entry] of Object.entries(cfg.sources)) {
    const spec = sourceSpec(entry.type)
    if (!spec) {
      const hint = closestName(entry.type, SOURCE_SPECS.map((x) => x.type))
      problems.push({file, ...at(['sources', name, 'type']), message: `sources.${name}.type: unknown source type "${entry.type}"${hint ? `; did you mean "${hint}"?` : ''} (one of ${SOURCE_SPECS.map((x) => x.type).join(', ')})`})
      continue
    }
    const format = entry.timestamp?.format
    if (format !== undefined) {
      try {
        eventTimeReader(format)
      } catch (error) {
        const hint = closestName(format, EVENT_TIME_FORMATS)
        problems.push({file, ...at(['sources', name, 'timestamp', 'format']), message: `sources.${name}.timestamp.format: ${(error as Error).message}${hint ? `; did you mean "${hint}"?` : ''}`})
      }
    }
    const opts = validateOptions(spec, entry, SOURCE_COMMON, ['sources', name], file, loaded, problems, componentEnv)
    if (opts.ok) sources.push({name, entry, spec, options: opts.value})
  }

  const tables = new Map<string, LookupTable>()
  for (const [name, t] of Object.entries(cfg.tables)) {
    const path = resolve(baseDir, t.file)
    const format = t.format ?? (extname(path).toLowerCase() === '.json' ? 'json' : 'csv')
    try {
      tables.set(name, loadTable(name, path, format))
    } catch (error) {
      problems.push({file, ...at(['tables', name, 'file']), message: `tables.${name}.file: ${(error as Error).message}`})
    }
  }

  const planOptions = {
    tables: [...Object.keys(cfg.tables)],
    sources: Object.keys(cfg.sources),
    tableColumns: Object.fromEntries([...tables].map(([n, t]) => [n, t.columns])),
    knownFields: knownPayloadFields(cfg),
  }
  const rules: LoadedRule[] = []
  const ruleNames = new Set<string>()
  cfg.rules.forEach((rule, index) => {
    const name = rule.name ?? `rule${index + 1}`
    if (ruleNames.has(name)) problems.push({file, ...at(['rules', index, 'name']), message: `rules[${index}].name: "${name}" is used by another rule`})
    ruleNames.add(name)
    const sqlAt = (p: RuleProblem | RuleSyntaxError) => {
      const q = atContent(rule.sql, p)
      return sqlPosition(text, at(['rules', index, 'sql']), q.line, q.col)
    }
    let plan: RulePlan | undefined
    try {
      plan = planRule(parseRule(rule.sql), planOptions)
    } catch (error) {
      if (error instanceof RuleSyntaxError) {
        problems.push({file, ...sqlAt(error), message: `rule ${name}: ${error.detail}\n${caret(rule.sql, atContent(rule.sql, error))}`})
      } else if (error instanceof RulePlanError) {
        for (const p of error.problems) problems.push({file, ...sqlAt(p), message: `rule ${name}: ${p.message}\n${caret(rule.sql, atContent(rule.sql, p))}`})
      } else {
        throw error
      }
    }
    let reject: BoundExpr | undefined
    if (rule.reject !== undefined && plan) {
      // Planned as the WHERE of a rule over the same FROM and JOINs, so it sees exactly what the rule sees.
      const src = plan.source.kind === 'topic' ? `"${plan.source.filter}"` : plan.source.name
      const joins = plan.joins.map((j) => ` ${j.type === 'left' ? 'LEFT ' : ''}JOIN ${j.table} AS ${j.alias} ON ${rule.sql.slice(j.on.loc.offset, j.on.loc.endOffset)}`).join('')
      const prefix = `SELECT 1 FROM ${src}${joins} WHERE `
      try {
        reject = planRule(parseRule(prefix + rule.reject), planOptions).where
      } catch (error) {
        const e = error as RuleSyntaxError | RulePlanError
        const p = e instanceof RulePlanError ? e.problems[0] : e
        const detail = e instanceof RuleSyntaxError ? e.detail : (p as RuleProblem).message
        const pos = sqlPosition(text, at(['rules', index, 'reject']), 1, Math.max(1, p.offset - prefix.length + 1))
        problems.push({file, ...pos, message: `rules[${index}].reject: ${detail}`})
      }
    }
    if (rule.map !== undefined) {
      try {
        compileMap(rule.map)
      } catch (error) {
        problems.push({file, ...at(['rules', index, 'map']), message: `rules[${index}].${(error as Error).message}`})
      }
    }
    const sinks: LoadedSink[] = []
    const sinkNames = new Set<string>()
    rule.sinks.forEach((entry, i) => {
      const spec = sinkSpec(entry.type)
      const sinkName = entry.name ?? `${name}.${entry.type}${rule.sinks.filter((s) => s.type === entry.type).length > 1 ? i : ''}`
      if (sinkNames.has(sinkName)) problems.push({file, ...at(['rules', index, 'sinks', i, 'name']), message: `sink name "${sinkName}" is used twice in rule ${name}`})
      sinkNames.add(sinkName)
      if (!spec) {
        const hint = closestName(entry.type, SINK_SPECS.map((x) => x.type))
        problems.push({file, ...at(['rules', index, 'sinks', i, 'type']), message: `rules[${index}].sinks[${i}].type: unknown sink type "${entry.type}"${hint ? `; did you mean "${hint}"?` : ''} (one of ${SINK_SPECS.map((x) => x.type).join(', ')})`})
        return
      }
      const opts = validateOptions(spec, entry, SINK_COMMON, ['rules', index, 'sinks', i], file, loaded, problems, componentEnv)
      if (opts.ok) sinks.push({name: sinkName, entry, spec, options: opts.value})
    })
    if (plan) {
      for (const w of plan.warnings) warnings.push({file, ...sqlAt(w), message: `rule ${name}: ${w.message}`})
      for (const w of dialectWarnings(plan)) warnings.push({file, ...at(['rules', index, 'sql']), message: `rule ${name}: ${w}`})
      if (rule.sinks.length === 0) warnings.push({file, ...at(['rules', index]), message: `rule ${name} has no sinks: its rows go nowhere`})
      rules.push({name, index, config: rule, plan, sinks, reject})
    }
  })

  if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)))
  return {file, baseDir, name: cfg.name ?? file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, ''), config: cfg, sources, tables, rules, warnings}
}

/**
 * Plans one more rule against a loaded pipeline (its sources, tables and their columns): `pipeline test` cases that
 * carry their own `sql:`. Throws RuleSyntaxError or RulePlanError.
 */
export function planPipelineRule(pipeline: LoadedPipeline, sql: string): RulePlan {
  return planRule(parseRule(sql), {
    tables: [...pipeline.tables.keys()],
    sources: pipeline.sources.map((s) => s.name),
    tableColumns: Object.fromEntries([...pipeline.tables].map(([n, t]) => [n, t.columns])),
    knownFields: knownPayloadFields(pipeline.config),
  })
}

/**
 * The source and sink entries of a file that failed its schema, checked against their registered specs, so every
 * problem is reported at once.
 */
function componentProblems(file: string, text: string, componentEnv: {baseDir: string; env: NodeJS.ProcessEnv}): ConfigProblem[] {
  let raw: LoadedConfig<Record<string, unknown>>
  try {
    raw = loadYamlConfig(file, looseRoot, {text, env: componentEnv.env})
  } catch {
    return []
  }
  const problems: ConfigProblem[] = []
  const at = (path: readonly PropertyKey[]) => raw.locate(path) ?? {line: 1, col: 1}
  const check = (entry: unknown, path: PropertyKey[], kind: 'source' | 'sink'): void => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return
    const e = entry as Record<string, unknown>
    if (typeof e.type !== 'string') return
    const spec = kind === 'source' ? sourceSpec(e.type) : sinkSpec(e.type)
    const all = (kind === 'source' ? SOURCE_SPECS : SINK_SPECS).map((x) => x.type)
    if (!spec) {
      const hint = closestName(e.type, all)
      problems.push({file, ...at([...path, 'type']), message: `${formatKeyPath(path)}.type: unknown ${kind} type "${e.type}"${hint ? `; did you mean "${hint}"?` : ''} (one of ${all.join(', ')})`})
      return
    }
    validateOptions(spec, e, kind === 'source' ? SOURCE_COMMON : SINK_COMMON, path, file, raw, problems, componentEnv)
  }
  const sources = raw.value.sources
  if (sources && typeof sources === 'object') for (const [name, entry] of Object.entries(sources)) check(entry, ['sources', name], 'source')
  const rules = raw.value.rules
  if (Array.isArray(rules)) {
    rules.forEach((r: unknown, i) => {
      const sinks = (r as {sinks?: unknown} | null)?.sinks
      if (Array.isArray(sinks)) sinks.forEach((sink, j) => check(sink, ['rules', i, 'sinks', j], 'sink'))
    })
  }
  return problems
}

const looseRoot = z.looseObject({})

function formatKeyPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')
}

/** Payload fields the file names outside SQL (each source's timestamp and key fields, CSV column maps). */
function knownPayloadFields(cfg: PipelineFile): string[] {
  const out = new Set<string>()
  for (const entry of Object.values(cfg.sources)) {
    if (entry.timestamp) out.add(entry.timestamp.field)
    if (entry.key) out.add(entry.key)
    const cols = (entry as Record<string, unknown>).columns
    if (Array.isArray(cols)) for (const c of cols) if (typeof c === 'string') out.add(c)
    if (cols !== null && typeof cols === 'object' && !Array.isArray(cols)) for (const k of Object.keys(cols)) out.add(k)
  }
  return [...out]
}

/**
 * "End of input" errors sit after the rule's trailing newline (block scalars keep one); point just past the last
 * character instead, where the user has to type.
 */
function atContent(sql: string, p: {line: number; col: number; offset: number}): {line: number; col: number; offset: number} {
  const end = sql.trimEnd().length
  if (p.offset <= end) return p
  const before = sql.slice(0, end).split('\n')
  return {line: before.length, col: (before.at(-1)?.length ?? 0) + 1, offset: end}
}

/** The rule line at fault with a caret under the position, indented under the `file:line:col:` line. */
function caret(sql: string, pos: {line: number; col: number; offset: number}): string {
  return formatCaret(sql, pos)
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')
}

/** Where eKuiper would give a different answer, so people porting rules are told (docs/window-semantics.md). */
function dialectWarnings(plan: RulePlan): string[] {
  const w = plan.window
  if (!w || plan.groupKeys.length === 0 || !windowKind(w.kind)?.keyedUnlikeEkuiper) return []
  return [`eKuiper difference: ${w.kind} windows are per GROUP BY key here; eKuiper windows the whole stream and groups inside each window, so its rows differ`]
}

/**
 * A source's or sink's options against its spec: the schema (URLs included, by the checks the connection code
 * makes), then the spec's check() of what the schema cannot see (files next to the pipeline). What a run would
 * refuse before connecting is refused here, for `pipeline lint` and `pipeline run` alike.
 */
function validateOptions(
  spec: SourceSpec<unknown> | SinkSpec<unknown>,
  entry: Record<string, unknown>,
  common: ReadonlySet<string>,
  path: PropertyKey[],
  file: string,
  loaded: LoadedConfig<unknown>,
  problems: ConfigProblem[],
  env: ComponentEnv,
): {ok: true; value: unknown} | {ok: false} {
  const schema: z.ZodType = spec.options
  const own: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(entry)) if (!common.has(k)) own[k] = v
  const parsed = schema.safeParse(own)
  const where = (p: PropertyKey[]) => p.map((s) => (typeof s === 'number' ? `[${s}]` : `.${String(s)}`)).join('').replace(/^\./, '')
  const report = (found: ComponentProblem[]): void => {
    for (const f of found) problems.push({file, ...(loaded.locate([...path, ...f.path]) ?? loaded.locate(path) ?? {line: 1, col: 1}), message: `${where([...path, ...f.path])}: ${f.message}`})
  }
  if (parsed.success) {
    const found = spec.check?.(parsed.data, env) ?? []
    report(found)
    return found.length === 0 ? {ok: true, value: parsed.data} : {ok: false}
  }
  for (const issue of parsed.error.issues) {
    const ip = issue.path as PropertyKey[]
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, ip)
      for (const key of issue.keys) {
        const pos = loaded.locate([...path, ...ip, key], {key: true}) ?? loaded.locate(path) ?? {line: 1, col: 1}
        const hint = closestName(key, [...(known ?? []), ...(ip.length === 0 ? common : [])])
        problems.push({file, ...pos, message: `${where([...path, ...ip])}: unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ''}`})
      }
      continue
    }
    const missing = isMissingKey(issue, own)
    const pos = (missing ? loaded.locate([...path, ...ip.slice(0, -1)]) : loaded.locate([...path, ...ip], {value: isWrongShape(issue)})) ?? loaded.locate(path) ?? {line: 1, col: 1}
    const message = missing ? `${where([...path, ...ip.slice(0, -1)])}: missing required key "${String(ip.at(-1))}"` : `${where([...path, ...ip])}: ${issueMessage(issue, own, schema)}`
    problems.push({file, ...pos, message})
  }
  report(spec.checkUnparsed?.(own, env) ?? [])
  return {ok: false}
}

/**
 * Maps a (line, col) inside a rule's SQL to the file. Block scalars (`sql: |`) start on the next line at the block's
 * indentation; quoted scalars one column after the quote; plain scalars where they start.
 */
export function sqlPosition(text: string, valueAt: {line: number; col: number}, line: number, col: number): {line: number; col: number} {
  const lines = text.split(/\r?\n/)
  const first = lines[valueAt.line - 1] ?? ''
  const indicator = first[valueAt.col - 1]
  if (indicator === '|' || indicator === '>') {
    let start = valueAt.line + 1
    while (start <= lines.length && (lines[start - 1] ?? '').trim() === '') start++
    const fileLine = start + line - 1
    const indent = /^ */.exec(lines[start - 1] ?? '')?.[0].length ?? 0
    return {line: fileLine, col: indent + col}
  }
  if (line === 1) return {line: valueAt.line, col: valueAt.col + (indicator === '"' || indicator === "'" ? 1 : 0) + col - 1}
  const fileLine = valueAt.line + line - 1
  const indent = /^ */.exec(lines[fileLine - 1] ?? '')?.[0].length ?? 0
  return {line: fileLine, col: indent + col}
}

/** `--set sources.plant.broker=mqtt://x:1883`, `--set rules[0].lateTolerance=5s`: values are read as YAML scalars. */
export function applyOverrides(text: string, sets: readonly string[], file: string): string {
  const doc = parseDocument(text)
  for (const s of sets) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new ConfigError([{file, message: `--set ${s}: expected path=value (e.g. rules[0].lateTolerance=5s)`}])
    const path = s
      .slice(0, eq)
      .split(/\.|\[(\d+)\]/)
      .filter((p) => p !== undefined && p !== '')
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p))
    const raw = s.slice(eq + 1)
    const value: unknown = parseDocument(raw).toJS()
    doc.setIn(path, value ?? raw)
  }
  return doc.toString()
}
