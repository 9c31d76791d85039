import {expressionsOf, findCycle, rootOf} from '../generators/field-order.js'
import {OBJECT_FIELD_KEYS} from '../generators/registry.js'
import {checkModbusGroups} from './modbus-checks.js'
import {checkParamNames, checkParamRefs, registryRefused} from './params-checks.js'
import {checkAnomalyNames, checkFleetCommands} from './commands-checks.js'
import {checkModes, unknownMode} from './mode-checks.js'
import {alwaysNumber, type GeneratorSpecOf} from '../generators/generator-schema.js'
import {MAX_SCENARIO_DEVICES, type FleetConfig, type Scenario} from './schema.js'
import {parseTemplate} from '../../config/template.js'
import {checkDeviceCounts, checkExpression, checkTemplateNames, checkTopicTemplate, isKnownName, spelledAs, suggest, type SemanticProblem} from './value-checks.js'

/**
 * Checks that need more than one value at a time: template names against the device's vars, expression
 * references and cycles, modes, anomalies, uniqueness. Each problem carries the document path of the
 * offending key so the loader's `locate` can turn it into line:col.
 */

/** Placeholders every device template may use, besides the fleet's vars. */
export const BUILTIN_PLACEHOLDERS = ['fleet', 'index', 'number', 'deviceId'] as const

export function checkScenario(scenario: Scenario): SemanticProblem[] {
  const problems: SemanticProblem[] = []
  const seen = new Map<string, number>()
  let devices = 0
  scenario.fleets.forEach((fleet, i) => {
    const at = ['fleets', i]
    devices += fleet.count
    if (devices > MAX_SCENARIO_DEVICES && devices - fleet.count <= MAX_SCENARIO_DEVICES) {
      problems.push({path: [...at, 'count'], message: `this fleet brings the scenario to ${devices.toLocaleString('en-US')} devices, more than the ${MAX_SCENARIO_DEVICES.toLocaleString('en-US')} one iotd process simulates; split the fleets over processes with --fleet`})
    }
    const first = seen.get(fleet.name)
    if (first !== undefined) problems.push({path: [...at, 'name'], message: `duplicate fleet name "${fleet.name}" (also fleets[${first}])`})
    else seen.set(fleet.name, i)
    checkFleet(scenario, fleet, at, problems)
  })
  if (scenario.fleets.length > 0) problems.push(...checkStages(scenario.stages))
  problems.push(...checkModbusGroups(scenario))
  // A Sparkplug section's name labels its row among the fleets (summary, --json fleets[], metrics): one name, one row.
  const names = new Map<string, string>([...scenario.fleets.map((f, i): [string, string] => [f.name, `fleets[${i}]`]), ...scenario.modbus.map((g, i): [string, string] => [g.name, `modbus[${i}]`])])
  scenario.sparkplug.forEach((g, i) => {
    const other = names.get(g.name)
    if (other) problems.push({path: ['sparkplug', i, 'name'], message: `duplicate name "${g.name}" (also ${other})`})
    names.set(g.name, `sparkplug[${i}]`)
  })
  return problems
}

/**
 * With `stages:`, devices start disconnected and only a ramp connects them (without stages, `connect:` ramps them all
 * up). A plan with no ramp above 0% never connects a device: the run would end "no device ever connected", as if
 * the broker were at fault. A storm before the first such ramp finds no one connected and drops nothing.
 */
function checkStages(stages: Scenario['stages']): SemanticProblem[] {
  if (stages.length === 0) return []
  const firstUp = stages.findIndex((s) => s.kind === 'ramp' && s.to > 0)
  const add = '`- ramp: {to: 100%, over: 10s}`'
  if (firstUp < 0) {
    return [{path: ['stages'], message: `no stage brings devices up: with stages, devices start disconnected and only a ramp connects them, so none would ever connect. Add ${add} where they should come up (or leave stages out: connect: then brings every device up)`}]
  }
  return stages.flatMap((s, k): SemanticProblem[] =>
    s.kind === 'storm' && k < firstUp ? [{path: ['stages', k], message: `a storm before the first ramp drops nothing: every device is still disconnected then. Put ${add} before it`}] : [],
  )
}

function checkFleet(scenario: Scenario, fleet: FleetConfig, at: PropertyKey[], problems: SemanticProblem[]): void {
  const varNames = Object.keys(fleet.vars)
  // A device's params are drawn before its vars render, so every template may use them.
  // With its registry refused, a fleet's columns are unknown: any {params.x} passes ({params.<key>}), not one problem per use.
  const paramNames = [...new Set([...Object.keys(fleet.params), ...Object.keys(fleet.registryParams[0] ?? {})])].map((name) => `params.${name}`)
  if (registryRefused(fleet)) paramNames.push('params.<key>')
  // vars render in declaration order, so a var may use the built-ins (except deviceId) and the vars before it.
  varNames.forEach((name, k) => {
    const v = fleet.vars[name]
    if (typeof v === 'string') checkTemplateNames(v, ['fleet', 'index', 'number', ...paramNames, ...varNames.slice(0, k)], [...at, 'vars', name], problems, 'lenient')
  })
  checkTemplateNames(fleet.id, ['fleet', 'index', 'number', ...varNames, ...paramNames], [...at, 'id'], problems)
  const deviceNames = [...BUILTIN_PLACEHOLDERS, ...varNames, ...paramNames]
  checkParamRefs(fleet, at, problems)
  checkParamNames(fleet, at, problems)
  checkTemplateNames(fleet.topic, deviceNames, [...at, 'topic'], problems)
  checkTopicTemplate(fleet.topic, [...at, 'topic'], problems)
  for (const key of ['birth', 'lwt', 'death'] as const) {
    const m = fleet[key]
    if (!m) continue
    checkTemplateNames(m.topic, deviceNames, [...at, key, 'topic'], problems)
    checkTopicTemplate(m.topic, [...at, key, 'topic'], problems)
    checkTemplateNames(m.payload, deviceNames, [...at, key, 'payload'], problems, 'lenient')
  }
  const clientIdPath = fleet.clientId !== undefined ? [...at, 'clientId'] : ['broker', 'clientId']
  const clientId = fleet.clientId ?? scenario.broker.clientId
  if (checkTemplateNames(clientId, deviceNames, clientIdPath, problems)) checkClientIdUnique(scenario, fleet, clientId, clientIdPath, problems)
  if (fleet.count > 1 && !parseTemplate(fleet.id).names.includes('index') && !parseTemplate(fleet.id).names.includes('number')) {
    const varies = varNames.some((n) => parseTemplate(fleet.id).names.includes(n) && typeof fleet.vars[n] !== 'string')
    if (!varies) problems.push({path: [...at, 'id'], message: `id "${fleet.id}" gives every device of fleet ${fleet.name} the same id: include {index}`})
  }

  const jitterMs = fleetJitterMs(fleet)
  if (jitterMs >= fleet.every / 2) {
    problems.push({path: [...at, 'jitter'], message: `jitter (${jitterMs}ms) must be less than half of every (${fleet.every}ms)`})
  }

  const modes = checkModes(fleet, at, problems)
  checkFleetCommands(scenario, fleet, at, deviceNames, modes, problems)
  const fieldNames = Object.keys(fleet.fields)
  const deps = new Map<string, string[]>()
  for (const [name, spec] of Object.entries(fleet.fields)) {
    const fieldAt = [...at, 'fields', name]
    if (spec.kind === 'constant') checkConstantTemplates(spec, deviceNames, fieldAt, problems)
    if (spec.kind === 'mode' && !fleet.mode) problems.push({path: [...fieldAt, 'kind'], message: `field ${name} is kind mode but fleet ${fleet.name} has no mode: block`})
    if ('byMode' in spec && spec.byMode) {
      for (const mode of Object.keys(spec.byMode)) {
        if (!fleet.mode) problems.push({path: [...fieldAt, 'byMode', mode], message: `byMode needs a mode: block in fleet ${fleet.name}`})
        else if (!modes.has(mode)) problems.push({path: [...fieldAt, 'byMode', mode], message: `byMode names ${unknownMode(mode, modes)}`})
      }
    }
    if (spec.kind === 'counter' && spec.modes) {
      spec.modes.forEach((mode, k) => {
        if (!fleet.mode) problems.push({path: [...fieldAt, 'modes'], message: `modes needs a mode: block in fleet ${fleet.name}`})
        else if (!modes.has(mode)) problems.push({path: [...fieldAt, 'modes', k], message: `counter counts in ${unknownMode(mode, modes)}`})
      })
    }
    if (spec.kind === 'derived') {
      // A mode's expression may read other fields than the base one: all of them order the fields and form cycles.
      const fieldDeps = expressionsOf(spec).flatMap(({mode, expr}) =>
        checkExpression(expr, fleet, name, mode === undefined ? [...fieldAt, 'expr'] : [...fieldAt, 'byMode', mode, 'expr'], problems),
      )
      deps.set(name, [...new Set(fieldDeps)])
    }
  }
  const cycle = findCycle(fieldNames, deps)
  if (cycle) problems.push({path: [...at, 'fields', cycle[0], 'expr'], message: `derived fields form a cycle: ${cycle.join(' -> ')}`})

  checkAnomalyNames(fleet.anomalies, [...at, 'anomalies'], problems)
  checkDeviceCounts(fleet.anomalies, fleet.count, `fleet ${fleet.name}`, [...at, 'anomalies'], problems)
  fleet.anomalies.forEach((a, k) => {
    const aAt = [...at, 'anomalies', k]
    if (a.field === undefined) return
    const spec = fleet.fields[a.field]
    if (!spec) {
      problems.push({path: [...aAt, 'field'], message: `anomaly on unknown field "${a.field}"${suggest(a.field, fieldNames)} (fields: ${fieldNames.join(', ')})`})
    } else if (a.kind !== 'stuck' && a.kind !== 'dropout' && !alwaysNumber(spec)) {
      // By value, not kind: a constant 20 is a number to spike, a constant "on" is not.
      problems.push({path: [...aAt, 'kind'], message: `anomaly ${a.kind} needs a field that is a number on every device, but ${a.field} is not (kind ${spec.kind})`})
    }
  })

  checkPayload(fleet, at, deviceNames, problems)
}

/**
 * A raw template names fields (`{temperature}`, `{position.lat}`) and, as topics do, the device's own placeholders
 * (`{deviceId}`, vars, `{params.fw}`); a name whose root is a field is the field's (encoders.ts renders it so).
 */
function checkPayload(fleet: FleetConfig, at: PropertyKey[], deviceNames: readonly string[], problems: SemanticProblem[]): void {
  const payload = fleet.payload
  const known = new Set(Object.keys(fleet.fields))
  const fieldPaths = Object.entries(fleet.fields).flatMap(([name, spec]) => [name, ...(OBJECT_FIELD_KEYS[spec.kind] ?? []).map((k) => `${name}.${k}`)])
  if (payload.format === 'raw') {
    for (const part of parseTemplate(payload.template, 'lenient').parts) {
      if (typeof part === 'string') continue
      const isField = known.has(rootOf(part.name))
      if (isField ? fieldPaths.includes(part.name) : isKnownName(part.name, deviceNames)) continue
      const hint = suggest(part.name, [...fieldPaths, ...deviceNames.map((n) => spelledAs(n, part.name))], (n) => `{${n}}`)
      problems.push({
        path: [...at, 'payload', 'template'],
        columnInValue: part.column,
        message: `payload template names unknown ${isField ? 'value' : 'field or placeholder'} {${part.name}}${hint} (fields: ${fieldPaths.join(', ')}; the device's: ${deviceNames.map((n) => `{${n}}`).join(' ')})`,
      })
    }
  } else if (payload.fields) {
    payload.fields.forEach((f, k) => {
      if (!known.has(f)) problems.push({path: [...at, 'payload', 'fields', k], message: `payload lists unknown field "${f}"`})
    })
  }
}

/**
 * Constant strings are templates, in every mode. The path ends at `value` so the column lands inside the string;
 * for a bare constant (`label: "site {site}"`) the loader's locate stops at the scalar, which is the same string.
 */
function checkConstantTemplates(spec: GeneratorSpecOf<'constant'>, known: readonly string[], fieldAt: PropertyKey[], problems: SemanticProblem[]): void {
  if (typeof spec.value === 'string') checkTemplateNames(spec.value, known, [...fieldAt, 'value'], problems, 'lenient')
  for (const [mode, override] of Object.entries(spec.byMode ?? {})) {
    if (typeof override.value === 'string') checkTemplateNames(override.value, known, [...fieldAt, 'byMode', mode, 'value'], problems, 'lenient')
  }
}

/**
 * A client id must differ per device: brokers disconnect the older session when a second client connects
 * with the same id, which would silently turn a fleet into one flapping device.
 */
function checkClientIdUnique(scenario: Scenario, fleet: FleetConfig, clientId: string, at: PropertyKey[], problems: SemanticProblem[]): void {
  const names = parseTemplate(clientId).names
  if (names.includes('deviceId')) return
  const hasIndex = names.includes('index') || names.includes('number')
  if (hasIndex && (scenario.fleets.length === 1 || names.includes('fleet'))) return
  const hint = hasIndex ? 'with several fleets, add {fleet} as well' : 'include {deviceId}'
  problems.push({path: at, message: `clientId "${clientId}" would not be unique across the devices of fleet ${fleet.name}: ${hint}`})
}

export function fleetJitterMs(fleet: Pick<FleetConfig, 'jitter' | 'every'>): number {
  if (!fleet.jitter) return 0
  return 'ms' in fleet.jitter ? fleet.jitter.ms : fleet.jitter.ofEvery * fleet.every
}

