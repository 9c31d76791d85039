import {existsSync, readFileSync} from 'node:fs'
import {dirname, isAbsolute, resolve} from 'node:path'
import {ConfigError, type ConfigProblem} from '../../errors.js'
import {formatPath, loadYamlConfig, readConfigText, type LoadedConfig} from '../../config/yaml-loader.js'
import type {DeviceSpec} from '../types.js'
import {expandDevices} from './expand.js'
import {fleetSchema, scenarioSchema, type FleetConfig, type Scenario} from './schema.js'
import {modbusGroupSchema} from './modbus-schema.js'
import {BUILTIN_PLACEHOLDERS, checkScenario} from './semantic-checks.js'
import {emptySelectionWarnings} from './selection-warnings.js'
import {inspectBehaviorModule} from '../commands/behavior.js'
import {filtersOverlap} from '../../net/topic-filter.js'
import {checkFilterTemplate, checkTemplateNames, type SemanticProblem} from './value-checks.js'
import {parseTemplate, renderTemplate, TemplateError} from '../../config/template.js'
import {findFilterFault, findTopicFault} from '../../net/topic-rules.js'
import {prepareParamRefs, readRegistryTable, registryRowSource, type RegistryRow} from './params.js'
import type {ParamRef} from '../generators/device-params.js'

export interface LoadScenarioOptions {
  /** Scenario text to use instead of reading `file` (file still names it in messages and anchors relative paths). */
  text?: string
  /** Environment for `${env:NAME}` interpolation (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Unset `${env:NAME}` references are reported here (read as empty) instead of failing the load (sim lint). */
  onUnsetEnv?: (problem: ConfigProblem) => void
  /** Load each behaviour module (in a child process) as the run will, and report what it would refuse (sim lint). */
  loadBehaviors?: boolean
  /** The seed to use instead of the file's (--seed): the returned scenario has it, and the warnings count with it. */
  seed?: number
  /**
   * What loads but would not do what it says, at its file:line:col: an anomaly whose share: drew no device with this
   * seed (selection-warnings.ts). Lint and the run's start print these; without the option they are not computed.
   */
  onWarning?: (problem: ConfigProblem) => void
}

/** Above this many devices the load-time checks of rendered ids and topics are skipped (they would cost seconds). */
const UNIQUENESS_CHECK_LIMIT = 1_000_000

/**
 * Loads, validates and normalises a scenario file. Throws ConfigError listing every problem with
 * file:line:col. The returned scenario always has a seed (the schema picks a random one when the file has none).
 */
export function loadScenario(file: string, options: LoadScenarioOptions = {}): Scenario {
  const text = options.text ?? readConfigText(file)
  let paramRefs = new Map<number, ParamRef[]>()
  // Device tables (`registry:`) are read before the schema, so their columns can stand in for numeric params.
  const registries = new Map<number, ReturnType<typeof readRegistryTable>>()
  const prepare = (raw: unknown) => {
    const fleets = (raw as {fleets?: unknown})?.fleets
    if (Array.isArray(fleets)) {
      fleets.forEach((f: {registry?: unknown} | null, i) => {
        if (typeof f?.registry === 'string') registries.set(i, readRegistryTable(resolve(dirname(resolve(file)), f.registry)))
      })
    }
    const {prepared, refs} = prepareParamRefs(raw, (i) => {
      const table = registries.get(i)
      return table && 'rows' in table ? table.rows.find((r) => r !== undefined) : undefined
    })
    paramRefs = refs
    return prepared
  }
  const lines = text.split(/\r?\n/)
  const problemAt = (locate: Locate) => (p: SemanticProblem): ConfigProblem => {
    const at = locate(p.locateAt ?? p.path, p.atKey ? {key: true} : undefined) ?? {line: 1, col: 1}
    let col = at.col
    if (p.columnInValue !== undefined) {
      const opening = lines[at.line - 1]?.[at.col - 1]
      // Point inside the string when it sits on one line: past the opening quote, at the offending character.
      if (opening !== '|' && opening !== '>') col += p.columnInValue - 1 + (opening === '"' || opening === "'" ? 1 : 0)
    }
    return {file, line: at.line, col, path: formatPath(p.path), message: `${formatPath(p.path)}: ${p.message}`}
  }
  // When the schema refuses some fleets, the others still get their cross-field checks in the same pass.
  const alsoCheck = (raw: unknown, locate: Locate) => checkWhatPassed(raw).map(problemAt(locate))
  const laterChecks = 'the checks that compare keys with each other (min <= max, jitter against every, topics, duplicates)'
  const {value, locate} = loadYamlConfig(file, scenarioSchema, {text, env: options.env, onUnsetEnv: options.onUnsetEnv, prepare, alsoCheck, laterChecks})
  for (const [i, refs] of paramRefs) value.fleets[i].paramRefs = refs
  const registryProblems: SemanticProblem[] = []
  for (const [i, table] of registries) {
    const fleet = value.fleets[i]
    if ('error' in table) {
      registryProblems.push({path: ['fleets', i, 'registry'], message: table.error})
      continue
    }
    const missing = Array.from({length: fleet.count}, (_, k) => k).filter((k) => table.rows[k] === undefined)
    if (missing.length > 0) registryProblems.push({path: ['fleets', i, 'registry'], message: `${fleet.registry} has no row for device index ${missing[0]}${missing.length > 1 ? ` (nor for ${missing.length - 1} more)` : ''}: it needs one per device of the fleet's ${fleet.count}`})
    const beyond = pastTheFleet(table.rows, fleet.count)
    if (beyond) registryProblems.push({path: ['fleets', i, 'registry'], message: beyond})
    if (missing.length === 0 && !beyond) fleet.registryParams = table.rows.slice(0, fleet.count)
  }
  const toProblem = problemAt(locate)
  const semantic = [...registryProblems, ...checkScenario(value)]
  semantic.push(...behaviorProblems(value, file, options.loadBehaviors ?? false))
  if (semantic.length === 0) semantic.push(...checkExpandedDevices(value))
  if (semantic.length > 0) {
    const problems = semantic.map(toProblem).sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0))
    throw new ConfigError(problems)
  }
  const seeded = options.seed === undefined ? value : {...value, seed: options.seed, seedDrawn: false}
  if (options.onWarning) for (const w of emptySelectionWarnings(seeded)) options.onWarning(toProblem(w))
  return {...seeded, broker: resolveTlsPaths(value.broker, file), fleets: value.fleets.map((f) => (f.behavior ? {...f, behavior: behaviorPath(f.behavior, file)} : f))}
}

/**
 * A table row for a device the fleet does not have: its params would go nowhere, and the fleet is likely not the
 * size the table was written for. Said at the first such row's file and line.
 */
function pastTheFleet(rows: readonly (RegistryRow | undefined)[], count: number): string | undefined {
  const extra: number[] = []
  for (let k = count; k < rows.length; k++) if (rows[k] !== undefined) extra.push(k)
  if (extra.length === 0) return undefined
  const source = registryRowSource(rows[extra[0]])
  const more = extra.length > 1 ? `, and so ${extra.length === 2 ? 'is 1 more row' : `are ${extra.length - 1} more rows`}` : ''
  const devices = `${count} device${count === 1 ? '' : 's'}`
  return `${source ? `${source.file}:${source.line}: ` : ''}index ${extra[0]} is past the fleet's ${devices} (${count === 1 ? 'index 0' : `indexes 0 to ${count - 1}`})${more}: raise count, or leave the rows past index ${count - 1} out of the table`
}

function behaviorPath(path: string, file: string): string {
  return isAbsolute(path) ? path : resolve(dirname(resolve(file)), path)
}

/**
 * A behaviour module must exist where the scenario says and parse (`node --check`, which runs nothing); with `load`
 * (sim lint and the live run), it must also load as the run loads it. Its problem is said at the behavior key, in
 * the run's words. Loaded, its subscriptions are known, and a twin on one of their topics is refused.
 */
function behaviorProblems(scenario: Scenario, file: string, load: boolean): SemanticProblem[] {
  const checked = new Map<string, ReturnType<typeof inspectBehaviorModule>>()
  return scenario.fleets.flatMap((f, i): SemanticProblem[] => {
    if (!f.behavior) return []
    const path = behaviorPath(f.behavior, file)
    if (!existsSync(path)) return [{path: ['fleets', i, 'behavior'], message: `behavior module ${path} does not exist`}]
    if (!checked.has(path)) checked.set(path, inspectBehaviorModule(path, {load}))
    const {problem, subscribe} = checked.get(path) ?? {}
    if (problem !== undefined) return [{path: ['fleets', i, 'behavior'], message: problem}]
    const refused = subscriptionProblems(f, i, path, subscribe ?? [])
    return refused.length > 0 ? refused : twinOverSubscriptions(f, i, subscribe ?? [])
  })
}

/**
 * A module's `subscribe:` filter templates, checked as a command's `topic:` is (value-checks.ts): placeholders the
 * device has (a did-you-mean for a slip: {deviceid}), and MQTT's filter rules (+ and # alone in their level, # last,
 * not empty, no NUL). The broker refused such a filter at every connect, or a misspelt placeholder was subscribed
 * literally. Said at the behavior key, naming the module's file:line:col of the text when the source holds it quoted.
 */
function subscriptionProblems(fleet: FleetConfig, i: number, path: string, subscribe: readonly string[]): SemanticProblem[] {
  const params = [...new Set([...Object.keys(fleet.params), ...Object.keys(fleet.registryParams[0] ?? {})])].map((name) => `params.${name}`)
  // With its registry refused (said on its own), a fleet's columns are unknown: any {params.x} passes, as in semantic-checks.
  if (fleet.registry !== undefined && fleet.registryParams.length === 0) params.push('params.<key>')
  const known = [...BUILTIN_PLACEHOLDERS, ...Object.keys(fleet.vars), ...params]
  let source: string | undefined
  return subscribe.flatMap((template, j) => {
    const found: SemanticProblem[] = []
    try {
      if (checkTemplateNames(template, known, [], found)) checkFilterTemplate(template, [], found)
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error
      found.push({path: [], columnInValue: error.column, message: `topic filter "${template}": ${error.message}`})
    }
    return found.map((p) => {
      source ??= readFileSync(path, 'utf8')
      const at = quotedAt(source, template, p.columnInValue ?? 1)
      const where = at ? `${path}:${at.line}:${at.col}` : path
      return {path: ['fleets', i, 'behavior'], message: `${where}: behavior module's subscribe[${j}]: ${p.message}`}
    })
  })
}

/** Where `column` of `text` sits in the source, when the source holds the text in quotes ("...", '...' or `...`). */
function quotedAt(source: string, text: string, column: number): {line: number; col: number} | undefined {
  for (const quoted of [JSON.stringify(text), `'${text}'`, `\`${text}\``]) {
    const k = source.indexOf(quoted)
    if (k < 0) continue
    const offset = k + 1 + column - 1
    const before = source.slice(0, offset).split('\n')
    return {line: before.length, col: before[before.length - 1].length + 1}
  }
  return undefined
}

/**
 * The twin takes every message on its desired topic before the rules and the module see it (device-commands.ts
 * receive), so a module subscription that matches that topic too would never get those messages, as a command rule's
 * would not (commands-checks.ts). Compared as templates: a placeholder holds no / + or #, and a device renders it
 * alike in both.
 */
function twinOverSubscriptions(fleet: FleetConfig, i: number, subscribe: readonly string[]): SemanticProblem[] {
  const twin = fleet.twin
  const filter = twin && subscribe.find((t) => filtersOverlap(twin.desired, t))
  if (twin === undefined || filter === undefined) return []
  return [{
    path: ['fleets', i, 'twin', 'desired'],
    message: `the twin's desired topic "${twin.desired}" overlaps the subscription "${filter}" of behavior module ${fleet.behavior}: the twin would take those messages and the module's onMessage would never get them. Give the twin a desired topic of its own, or narrow the module's subscribe filter`,
  }]
}

type Locate = LoadedConfig<unknown>['locate']

/**
 * The semantic checks of a scenario the schema refused, on what did pass it: the fleets (and modbus groups)
 * that parse on their own, in a scenario whose other keys parse. Paths are given back with the fleets' and groups'
 * places in the file. Nothing when the rest of the file does not parse either (its problems are reported already).
 */
function checkWhatPassed(raw: unknown): SemanticProblem[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return []
  const doc = raw as Record<string, unknown>
  const keep = (key: 'fleets' | 'modbus', valid: (item: unknown) => boolean): number[] | undefined => {
    const list = doc[key]
    if (!Array.isArray(list)) return undefined
    return list.map((item, i) => (valid(item) ? i : -1)).filter((i) => i >= 0)
  }
  const fleets = keep('fleets', (f) => fleetSchema.safeParse(f).success)
  const groups = keep('modbus', (g) => modbusGroupSchema.safeParse(g).success)
  if ((fleets?.length ?? 0) === 0 && (groups?.length ?? 0) === 0) return []
  const candidate = {...doc}
  if (fleets) candidate.fleets = fleets.map((i) => (doc.fleets as unknown[])[i])
  if (groups) candidate.modbus = groups.map((i) => (doc.modbus as unknown[])[i])
  if (fleets?.length === 0) delete candidate.fleets
  if (groups?.length === 0) delete candidate.modbus
  const parsed = scenarioSchema.safeParse(candidate)
  if (!parsed.success) return []
  const original = {fleets, modbus: groups}
  const inFile = (path: PropertyKey[]): PropertyKey[] => {
    const [section, index, ...rest] = path
    const map = section === 'fleets' || section === 'modbus' ? original[section] : undefined
    return map && typeof index === 'number' ? [section, map[index], ...rest] : path
  }
  return checkScenario(parsed.data).map((p) => ({...p, path: inFile(p.path), ...(p.locateAt ? {locateAt: inFile(p.locateAt)} : {})}))
}

function resolveTlsPaths(broker: Scenario['broker'], file: string): Scenario['broker'] {
  if (!('tls' in broker) || !broker.tls) return broker
  const base = dirname(resolve(file))
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p))
  return {...broker, tls: {...broker.tls, ca: abs(broker.tls.ca), cert: abs(broker.tls.cert), key: abs(broker.tls.key)}}
}

/**
 * Checks of what the templates render to: device ids and client ids must be unique across the whole scenario
 * (templates can collide across fleets), and every rendered topic must be publishable (a var value can bring in
 * a wildcard that the template itself does not show).
 */
function checkExpandedDevices(scenario: Scenario): SemanticProblem[] {
  const total = scenario.fleets.reduce((n, f) => n + f.count, 0)
  if (total > UNIQUENESS_CHECK_LIMIT) return []
  const problems: SemanticProblem[] = []
  const fleetIndex = new Map(scenario.fleets.map((f, i) => [f.name, i]))
  const ids = new Map<string, string>()
  const clientIds = new Map<string, string>()
  const reported = new Set<string>()
  for (const d of expandDevices(scenario)) {
    const i = fleetIndex.get(d.fleet) ?? 0
    const otherId = ids.get(d.deviceId)
    if (otherId !== undefined && !reported.has(`id:${d.fleet}`)) {
      reported.add(`id:${d.fleet}`)
      problems.push({path: ['fleets', i, 'id'], message: `device id "${d.deviceId}" is produced twice (fleets ${otherId} and ${d.fleet}); make the id templates differ`})
    }
    ids.set(d.deviceId, d.fleet)
    const otherClient = clientIds.get(d.clientId)
    if (otherClient !== undefined && !reported.has(`client:${d.fleet}`)) {
      reported.add(`client:${d.fleet}`)
      const path = scenario.fleets[i].clientId !== undefined ? ['fleets', i, 'clientId'] : ['broker', 'clientId']
      problems.push({path, message: `client id "${d.clientId}" is produced twice (fleets ${otherClient} and ${d.fleet})`})
    }
    clientIds.set(d.clientId, d.fleet)
    for (const problem of [...renderedTopicProblems(scenario.fleets[i], i, d), ...renderedFilterProblems(scenario.fleets[i], i, d)]) {
      const key = `topic:${formatPath(problem.path)}`
      if (reported.has(key)) continue
      reported.add(key)
      problems.push(problem)
    }
  }
  return problems
}

/** A device's topics (telemetry, birth, lwt, death), with the template each came from and where it sits. */
function deviceTopics(fleet: FleetConfig, i: number, d: DeviceSpec): Array<{path: PropertyKey[]; template: string; rendered: string}> {
  const out = [{path: ['fleets', i, 'topic'], template: fleet.topic, rendered: d.topic}]
  for (const key of ['birth', 'lwt', 'death'] as const) {
    const template = fleet[key]?.topic
    const rendered = d[key]?.topic
    if (template !== undefined && rendered !== undefined) out.push({path: ['fleets', i, key, 'topic'], template, rendered})
  }
  return out
}

function renderedTopicProblems(fleet: FleetConfig, i: number, d: DeviceSpec): SemanticProblem[] {
  return deviceTopics(fleet, i, d).flatMap(({path, template, rendered}) => {
    const fault = findTopicFault(rendered)
    if (!fault) return []
    const from = placeholderAt(template, d.vars, fault.column)
    const source = from ? ` (from {${from.name}})` : ''
    return [{path, columnInValue: from?.column, message: `topic of device ${d.deviceId} renders as "${rendered}", which ${fault.what}${source}: ${fault.why}`}]
  })
}

/** The command filters a device subscribes to, rendered: a var value can bring in a wildcard the template does not show. */
function renderedFilterProblems(fleet: FleetConfig, i: number, d: DeviceSpec): SemanticProblem[] {
  return (fleet.commands ?? []).flatMap((rule, k) =>
    rule.topics.flatMap((template, j) => {
      const rendered = renderTemplate(parseTemplate(template), (name) => d.vars[name])
      const fault = findFilterFault(rendered)
      if (!fault || findFilterFault(template)) return []
      const from = placeholderAt(template, d.vars, fault.column)
      const path = rule.topics.length === 1 ? ['fleets', i, 'commands', k, 'topic'] : ['fleets', i, 'commands', k, 'topic', j]
      return [{path, columnInValue: from?.column, message: `command topic of device ${d.deviceId} renders as "${rendered}", which ${fault.what}${from ? ` (from {${from.name}})` : ''}: ${fault.why}`}]
    }),
  )
}

/** The placeholder whose rendered text covers `column` of the rendered template, if that column came from one. */
function placeholderAt(source: string, vars: Record<string, string>, column: number): {name: string; column: number} | undefined {
  let end = 0
  for (const part of parseTemplate(source).parts) {
    end += renderTemplate({source, parts: [part], names: []}, (name) => vars[name]).length
    if (column <= end) return typeof part === 'string' ? undefined : part
  }
  return undefined
}
