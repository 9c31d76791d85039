import {checkAnomalyNames, onCommandOnly} from './commands-checks.js'
import {alwaysNumber} from '../generators/generator-schema.js'
import type {Scenario} from './schema.js'
import {checkDeviceCounts, checkExpression, checkTemplateNames, checkTopicTemplate, type SemanticProblem} from './value-checks.js'
import {expressionsOf, findCycle} from '../generators/field-order.js'
import {expandModbusDevices, MODBUS_PLACEHOLDERS} from './modbus-expand.js'
import {groupSize} from './modbus-expand.js'

/**
 * Checks of the `modbus:` section that need more than one value: unique group names and ports, template names,
 * expressions between tags, anomalies on known numeric tags.
 */
export function checkModbusGroups(scenario: Scenario): SemanticProblem[] {
  const problems: SemanticProblem[] = []
  const names = new Map<string, string>(scenario.fleets.map((f, i) => [f.name, `fleets[${i}]`]))
  const ports: Array<{host: string; from: number; to: number; at: number}> = []
  scenario.modbus.forEach((group, g) => {
    const at = ['modbus', g]
    const other = names.get(group.name)
    if (other) problems.push({path: [...at, 'name'], message: `duplicate name "${group.name}" (also ${other})`})
    names.set(group.name, `modbus[${g}]`)

    const templateNames = [...MODBUS_PLACEHOLDERS]
    checkTemplateNames(group.id, templateNames, [...at, 'id'], problems)
    if (group.mirror) {
      checkTemplateNames(group.mirror.topic, [...templateNames, 'deviceId'], [...at, 'mirror', 'topic'], problems)
      checkTopicTemplate(group.mirror.topic, [...at, 'mirror', 'topic'], problems)
    }

    const seenUnits = new Set<number>()
    for (const u of group.units) {
      if (seenUnits.has(u)) problems.push({path: [...at, 'units'], message: `unit id ${u} appears twice`})
      seenUnits.add(u)
    }
    if (group.port !== 0 && group.transport !== 'rtu') {
      const to = group.port + group.listeners - 1
      if (to > 65535) problems.push({path: [...at, 'listeners'], message: `${group.listeners} listeners from port ${group.port} run past port 65535`})
      const clash = ports.find((p) => p.host === group.host && group.port <= p.to && to >= p.from)
      if (clash) problems.push({path: [...at, 'port'], message: `ports ${group.port}-${to} overlap those of modbus[${clash.at}] (${clash.from}-${clash.to})`})
      ports.push({host: group.host, from: group.port, to, at: g})
    }

    // Tags are fields: derived tags may read other tags, anomalies change them.
    const fields = Object.fromEntries(group.tags.map((t) => [t.name, t.value]))
    const tagIndex = new Map(group.tags.map((t, i) => [t.name, i]))
    const deps = new Map<string, string[]>()
    for (const tag of group.tags) {
      const tagAt = [...at, 'tags', tagIndex.get(tag.name) ?? 0, 'value']
      const spec = tag.value
      if (spec.kind === 'mode' || ('byMode' in spec && spec.byMode)) problems.push({path: tagAt, message: 'modes are not available on Modbus tags (no mode: block in a modbus group)'})
      if (spec.kind === 'gps') problems.push({path: [...tagAt, 'kind'], message: 'a gps value is an object; a register holds one number (use derived tags for lat/lon)'})
      if (spec.kind === 'derived') deps.set(tag.name, [...new Set(expressionsOf(spec).flatMap(({expr}) => checkExpression(expr, {fields}, tag.name, [...tagAt, 'expr'], problems)))])
    }
    const cycle = findCycle(Object.keys(fields), deps)
    if (cycle) problems.push({path: [...at, 'tags', tagIndex.get(cycle[0]) ?? 0, 'value', 'expr'], message: `derived tags form a cycle: ${cycle.join(' -> ')}`})
    checkAnomalyNames(group.anomalies, [...at, 'anomalies'], problems)
    checkDeviceCounts(group.anomalies, groupSize(group), `modbus group ${group.name}`, [...at, 'anomalies'], problems)
    checkDeviceCounts(group.faults, groupSize(group), `modbus group ${group.name}`, [...at, 'faults'], problems)
    group.anomalies.forEach((a, k) => {
      // Modbus devices take no commands: an anomaly needs its seeded who and when.
      if (onCommandOnly(a)) problems.push({path: [...at, 'anomalies', k], message: `anomaly ${a.kind} needs share or devices and probability or schedule (Modbus devices take no commands that could start it)`})
      if (a.field === undefined) return
      const spec = fields[a.field]
      if (!spec) problems.push({path: [...at, 'anomalies', k, 'field'], message: `anomaly on unknown tag "${a.field}" (tags: ${Object.keys(fields).join(', ')})`})
      else if (a.kind !== 'stuck' && a.kind !== 'dropout' && !alwaysNumber(spec)) problems.push({path: [...at, 'anomalies', k, 'kind'], message: `anomaly ${a.kind} needs a tag that is a number on every device, but ${a.field} is not (kind ${spec.kind})`})
    })
  })
  if (problems.length === 0) {
    // Ids as rendered: a template without {index} can still be unique ({unit} with one listener), or not.
    const seen = new Map<string, string>()
    for (const d of expandModbusDevices(scenario)) {
      const other = seen.get(d.deviceId)
      if (other !== undefined) {
        const g = scenario.modbus.findIndex((x) => x.name === d.group)
        problems.push({path: ['modbus', g, 'id'], message: `device id "${d.deviceId}" is produced twice (groups ${other} and ${d.group}): include {index}`})
        break
      }
      seen.set(d.deviceId, d.group)
    }
  }
  return problems
}
