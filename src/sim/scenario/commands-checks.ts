import type {Scenario, FleetConfig} from './schema.js'
import {commandName, type PublishPropertiesConfig} from '../commands/config.js'
import {filtersOverlap} from '../../net/topic-filter.js'
import {isJsonPath} from '../commands/json-path.js'
import {anomalyName} from '../generators/anomalies.js'
import {alwaysNumber, type AnomalySpec} from '../generators/generator-schema.js'
import {checkFilterTemplate, checkTemplateNames, suggest, type SemanticProblem} from './value-checks.js'
import {unknownMode} from './mode-checks.js'

/**
 * Checks of a fleet's `properties:`, `commands:` and `twin:` that need the rest of the scenario: MQTT 5 for
 * properties and response topics, the fields and modes a command names, the placeholders its topics use.
 */
export function checkFleetCommands(scenario: Scenario, fleet: FleetConfig, at: PropertyKey[], deviceNames: readonly string[], modes: ReadonlySet<string>, problems: SemanticProblem[]): void {
  const v5 = scenario.broker.protocol === '5'
  const anomalies = fleet.anomalies.map((spec, k) => anomalyName(spec, k))
  const fields = Object.keys(fleet.fields)
  const field = (name: string, path: PropertyKey[]) => {
    if (!fields.includes(name)) problems.push({path, message: `fleet ${fleet.name} has no field "${name}"${suggest(name, fields)} (fields: ${fields.join(', ')})`})
  }
  const properties = (p: PublishPropertiesConfig | undefined, path: PropertyKey[]) => {
    if (!p) return
    if (!v5) problems.push({path, message: 'MQTT 5 properties need broker.protocol: 5 (MQTT 3.1.1 has no properties)'})
    for (const [name, value] of Object.entries(p.userProperties ?? {})) checkTemplateNames(value, deviceNames, [...path, 'userProperties', name], problems, 'lenient')
    if (p.responseTopic !== undefined) checkTemplateNames(p.responseTopic, deviceNames, [...path, 'responseTopic'], problems)
    if (p.correlationData !== undefined) checkTemplateNames(p.correlationData, deviceNames, [...path, 'correlationData'], problems, 'lenient')
  }
  properties(fleet.properties, [...at, 'properties'])

  // {command} in replies and labels names the rule, so two rules of one name could not be told apart.
  const firstWithName = new Map<string, number>()
  fleet.commands?.forEach((rule, k) => {
    const name = commandName(rule, k)
    const first = firstWithName.get(name)
    if (first === undefined) firstWithName.set(name, k)
    else problems.push({path: [...at, 'commands', k, ...(rule.name === undefined ? [] : ['name'])], message: `command name '${name}' is used twice (rules ${first + 1} and ${k + 1}): give each rule its own name`})
  })

  fleet.commands?.forEach((rule, k) => {
    const ruleAt = [...at, 'commands', k]
    rule.topics.forEach((topic, j) => {
      const path = rule.topics.length === 1 ? [...ruleAt, 'topic'] : [...ruleAt, 'topic', j]
      if (checkTemplateNames(topic, deviceNames, path, problems)) checkFilterTemplate(topic, path, problems)
    })
    // when:'s keys are checked here, not by the schema, so the problem points at the key that is wrong (a schema
    // issue is placed at its value), and the message says why.
    for (const path of Object.keys(rule.when ?? {})) {
      if (!isJsonPath(path)) problems.push({path: [...ruleAt, 'when', path], atKey: true, message: `"${path}" is not a JSON path such as $.cmd or $.target[0] (keys and [index] steps only)`})
    }
    for (const [name, value] of Object.entries(rule.set ?? {})) {
      field(name, [...ruleAt, 'set', name])
      // The device turns the text into the field's number when the command comes (coerce in device-commands.ts).
      const spec = fleet.fields[name]
      if (spec && alwaysNumber(spec) && typeof value === 'string' && !isJsonPath(value) && (value.trim() === '' || Number.isNaN(Number(value)))) {
        problems.push({path: [...ruleAt, 'set', name], message: `field ${name} is a number, but "${value}" is not one, so every command would fail: give a number, or "$.path" to take it from the request`})
      }
    }
    for (const [j, name] of (rule.release ?? []).entries()) field(name, [...ruleAt, 'release', j])
    if (rule.mode !== undefined) {
      const mode = {path: [...ruleAt, 'mode'], locateAt: [...ruleAt, 'mode', 'to']}
      // A mode taken from the request ("$.mode") needs the block as much as a literal one.
      if (!fleet.mode) problems.push({...mode, message: `mode needs a mode: block in fleet ${fleet.name}`})
      else if (!isJsonPath(rule.mode) && !modes.has(rule.mode)) problems.push({...mode, message: unknownMode(rule.mode, modes)})
    }
    for (const action of ['start', 'stop'] as const) {
      const name = rule.anomaly?.[action]
      if (name === undefined || isJsonPath(name)) continue
      const path = [...ruleAt, 'anomaly', action]
      if (anomalies.length === 0) problems.push({path, message: `fleet ${fleet.name} declares no anomalies: add one under anomalies: (with name: ${name}) for this command to ${action}`})
      else if (!anomalies.includes(name)) problems.push({path, message: `unknown anomaly "${name}"${suggest(name, anomalies)} (anomalies of fleet ${fleet.name}: ${anomalies.join(', ')})`})
    }
    const reply = rule.reply
    if (reply) {
      if (reply.topic === undefined && !v5) problems.push({path: [...ruleAt, 'reply'], message: 'a reply without a topic goes to the request\'s MQTT 5 response topic: set broker.protocol: 5 or give reply.topic'})
      if (reply.topic !== undefined) checkTemplateNames(reply.topic, deviceNames, [...ruleAt, 'reply', 'topic'], problems)
      if (reply.payload !== undefined) checkTemplateNames(reply.payload, [...REPLY_NAMES, ...deviceNames, ...fields], [...ruleAt, 'reply', 'payload'], problems, 'lenient')
      properties(reply.properties, [...ruleAt, 'reply', 'properties'])
    }
    if (rule.reboot && rule.reboot.will && !fleet.lwt) problems.push({path: [...ruleAt, 'reboot', 'will'], message: `reboot with will: true drops the socket so the broker sends the last will, but fleet ${fleet.name} declares no last will: add lwt: {topic: "{deviceId}/status", payload: offline} to fleet ${fleet.name}, or remove will: true`})
  })

  // An anomaly with neither share/devices nor probability/schedule starts only by command: one must start it.
  const startedByName = new Set((fleet.commands ?? []).map((r) => r.anomaly?.start).filter((n): n is string => n !== undefined))
  // A rule that takes the name from the request may start any; one with a misspelt name has its own problem.
  const fromRequest = [...startedByName].some((n) => isJsonPath(n) || !anomalies.includes(n))
  fleet.anomalies.forEach((spec, k) => {
    if (!onCommandOnly(spec) || fromRequest || fleet.behavior !== undefined || startedByName.has(anomalies[k])) return
    problems.push({
      path: [...at, 'anomalies', k],
      message: `anomaly ${anomalies[k]} has no share or devices and no probability or schedule, so only a command starts it, but no command of fleet ${fleet.name} does: add a rule with anomaly: {start: ${anomalies[k]}}, or give it share/devices and probability/schedule`,
    })
  })

  const twin = fleet.twin
  if (twin) {
    checkTemplateNames(twin.desired, deviceNames, [...at, 'twin', 'desired'], problems)
    checkTemplateNames(twin.reported, deviceNames, [...at, 'twin', 'reported'], problems)
    for (const [j, name] of (twin.fields ?? []).entries()) field(name, [...at, 'twin', 'fields', j])
    // The twin takes every message on its desired topic before any rule looks at it (device-commands.ts receive), so a
    // rule whose filter matches that topic too would silently never fire for it: one of them must move.
    // Compared as templates: a placeholder holds no / + or #, and a device renders it alike in both.
    fleet.commands?.forEach((rule, k) => {
      const topic = rule.topics.find((t) => filtersOverlap(twin.desired, t))
      if (topic === undefined) return
      problems.push({
        path: [...at, 'twin', 'desired'],
        message: `the twin's desired topic "${twin.desired}" overlaps the topic "${topic}" of command ${commandName(rule, k)} (rule ${k + 1}): the twin would take those messages and the rule would never get them. Give the twin a desired topic of its own, or narrow the rule's filter`,
      })
    })
  }
}

/** What a reply payload may name besides the device's vars and the fleet's fields (device-commands.ts, reply). */
const REPLY_NAMES = ['status', 'command', 'topic', 'payload', 'request.<key>']

/** Whether an anomaly starts only by command (neither who nor when is given). */
export function onCommandOnly(spec: AnomalySpec): boolean {
  return spec.share === undefined && spec.devices === undefined && spec.probability === undefined && spec.schedule === undefined
}

/** Anomaly names must be unique in their fleet or group (commands and labels name them). */
export function checkAnomalyNames(anomalies: readonly AnomalySpec[], at: PropertyKey[], problems: SemanticProblem[]): void {
  const seen = new Map<string, number>()
  anomalies.forEach((spec, k) => {
    const name = anomalyName(spec, k)
    const first = seen.get(name)
    if (first !== undefined) problems.push({path: [...at, k, spec.name === undefined ? 'kind' : 'name'], message: `duplicate anomaly name "${name}" (also anomalies[${first}]): give each its own name:`})
    else seen.set(name, k)
  })
}
