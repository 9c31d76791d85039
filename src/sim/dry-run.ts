import type {TagValue} from '../modbus/types.js'
import {anomalyName, createDeviceModel, dueOffsetMs, selectedDevices, selectsDevice} from './generators/index.js'
import {onCommandOnly} from './scenario/commands-checks.js'
import {SimulatedModbusDevice} from './modbus/device.js'
import {groupSize} from './scenario/modbus-expand.js'
import {expandModbusDevices} from './scenario/modbus-expand.js'
import {expandDevices, type Scenario} from './scenario/index.js'
import {sparkplugTopic, stateTopic} from '../sparkplug/topic.js'
import {SparkplugEdgeNode, type ScalarValue} from './sparkplug/edge-node.js'
import {commandSubscriptions, FleetCommands} from './commands/device-commands.js'
import type {PublishProperties} from './types.js'

/** `iotd sim --dry-run`: what each fleet would publish, without connecting anywhere. */

/** How many devices of a fleet or Modbus group one anomaly or fault picks (what lint and dry-run report). */
export interface AnomalySelection {
  /** Fleet or Modbus group. */
  group: string
  /** `anomalies[k]` or `faults[k]` of the group. */
  list: 'anomalies' | 'faults'
  index: number
  /** The anomaly's name (its `name:`, or anomaly-N); absent for faults. */
  name?: string
  kind: string
  field?: string
  devices: number
  of: number
  /** It has no seeded start: only commands start it (on any device of the fleet). */
  onCommand?: true
  /** Chosen by `share:`, a chance per device: the count itself depends on the seed. */
  byChance?: true
}

/**
 * With `fleets` (--fleet) only those fleets; with `shard` (--shard) the counts are the shard's: of its devices in the
 * fleet, how many the anomaly selects (as `iotd sim --shard` runs them), so they agree with the dry run's device counts.
 */
export function anomalySelections(scenario: Scenario, options: {fleets?: string[]; shard?: {index: number; count: number}} = {}): AnomalySelection[] {
  const out: AnomalySelection[] = []
  const seed = scenario.seed
  const shard = options.shard && options.shard.count > 1 ? options.shard : undefined
  // A shard takes every count-th device of the selected fleets in order (expandDevices): `before` is the ordinal of a fleet's first device.
  let before = 0
  for (const f of scenario.fleets) {
    if (options.fleets && !options.fleets.includes(f.name)) continue
    const members: number[] = []
    if (shard && f.anomalies.length > 0) for (let i = (((shard.index - before) % shard.count) + shard.count) % shard.count; i < f.count; i += shard.count) members.push(i)
    before += f.count
    f.anomalies.forEach((a, k) => {
      const devices = shard ? members.filter((i) => selectsDevice(seed, f.name, f.count, i, k, a)).length : selectedDevices(seed, f.name, f.count, k, a)
      out.push({group: f.name, list: 'anomalies', index: k, name: anomalyName(a, k), kind: a.kind, field: a.field, devices, of: shard ? members.length : f.count, ...(onCommandOnly(a) && {onCommand: true as const}), ...(a.share !== undefined && {byChance: true as const})})
    })
  }
  for (const g of scenario.modbus) {
    const size = groupSize(g)
    g.anomalies.forEach((a, k) => out.push({group: g.name, list: 'anomalies', index: k, name: anomalyName(a, k), kind: a.kind, field: a.field, devices: selectedDevices(seed, g.name, size, k, a), of: size, ...(a.share !== undefined && {byChance: true as const})}))
    // Faults draw with their own numbers (1000 + k), as SimulatedModbusDevice does.
    g.faults.forEach((x, k) => out.push({group: g.name, list: 'faults', index: k, kind: x.kind, devices: selectedDevices(seed, g.name, size, 1000 + k, x), of: size}))
  }
  return out
}


export interface FleetSample {
  fleet: string
  devices: number
  deviceId: string
  clientId: string
  topic: string
  qos: number
  retain: boolean
  everyMs: number
  birth?: {topic: string; payload: string}
  lwt?: {topic: string; payload: string}
  /** Command and twin topic filters the first device subscribes to (fleets with commands: or twin:). */
  subscribes?: string[]
  /** The fleet's behaviour module (not loaded by a dry run). */
  behavior?: string
  /** MQTT 5 properties of the first device's telemetry. */
  properties?: PublishProperties
  /** Payloads of the first device's first messages (null = suppressed by a dropout anomaly). */
  payloads: Array<string | null>
}

export function sampleFleets(scenario: Scenario, samples: number, options: {fleets?: string[]; shard?: {index: number; count: number}; startMs?: number} = {}): FleetSample[] {
  // With a shard, each fleet's count and first device are the shard's, as `iotd sim --shard` runs them.
  const devices = expandDevices(scenario, {fleets: options.fleets, shard: options.shard})
  const startMs = options.startMs ?? Date.now()
  const out: FleetSample[] = []
  for (const fleet of scenario.fleets) {
    const members = devices.filter((d) => d.fleet === fleet.name)
    const first = members[0]
    if (!first) continue
    const model = createDeviceModel(scenario, first)
    const payloads: Array<string | null> = []
    for (let n = 0; n < samples; n++) payloads.push(model.sample(n, Math.round(startMs + dueOffsetMs(first, n, scenario.seed))).payload)
    out.push({
      fleet: fleet.name,
      devices: members.length,
      deviceId: first.deviceId,
      clientId: first.clientId,
      topic: first.topic,
      qos: first.qos,
      retain: first.retain,
      everyMs: first.everyMs,
      birth: first.birth && {topic: first.birth.topic, payload: first.birth.payload},
      lwt: first.lwt && {topic: first.lwt.topic, payload: first.lwt.payload},
      subscribes: fleet.commands || fleet.twin ? commandSubscriptions(new FleetCommands(fleet), first.vars).map((s) => s.topic) : undefined,
      properties: first.properties,
      behavior: fleet.behavior,
      payloads,
    })
  }
  return out
}

export interface ModbusGroupSample {
  group: string
  devices: number
  host: string
  /** Listener ports (0: the OS assigns one at run time). */
  ports: number[]
  unitIds: number[]
  everyMs: number
  deviceId: string
  /** The first device's unit id and port. */
  unitId: number
  port: number
  mirrorTopic?: string
  tags: Array<{name: string; table: string; address: number; type: string; unit?: string; writable: boolean}>
  /** The first device's tag values, update by update, as a Modbus client would decode them. */
  values: Array<Record<string, TagValue>>
}

/** `iotd sim --dry-run` for the `modbus:` groups: where each listens and what its first device's registers hold. */
export function sampleModbusGroups(scenario: Scenario, samples: number, options: {startMs?: number} = {}): ModbusGroupSample[] {
  const devices = expandModbusDevices(scenario)
  const startMs = options.startMs ?? Date.now()
  const out: ModbusGroupSample[] = []
  for (const group of scenario.modbus) {
    const members = devices.filter((d) => d.group === group.name)
    const first = members[0]
    if (!first) continue
    const device = new SimulatedModbusDevice(group, first, scenario.seed)
    const values: Array<Record<string, TagValue>> = []
    for (let n = 0; n < samples; n++) {
      device.step(startMs + first.phaseMs + n * first.everyMs)
      values.push({...device.values})
    }
    out.push({
      group: group.name,
      devices: members.length,
      host: first.host,
      ports: [...new Set(members.map((d) => d.port))],
      unitIds: [...group.units],
      everyMs: first.everyMs,
      deviceId: first.deviceId,
      unitId: first.unitId,
      port: first.port,
      mirrorTopic: first.mirrorTopic,
      tags: group.tags.map((t) => ({name: t.name, table: t.table, address: t.address, type: t.type, unit: t.unit, writable: t.writable})),
      values,
    })
  }
  return out
}

export interface SparkplugGroupSample {
  name: string
  group: string
  nodes: number
  devicesPerNode: number
  everyMs: number
  primaryHost?: string
  /** The STATE topic the nodes wait on (with a primary host). */
  stateTopic?: string
  storeAndForwardMax?: number
  /** The first edge node and its first device. */
  nodeId: string
  deviceId?: string
  topics: {nbirth: string; ndeath: string; ndata: string; dbirth?: string; ddata?: string; ncmd: string; dcmd?: string}
  nodeMetrics: Array<{name: string; type?: string; units?: string; deadband: number; writable: boolean}>
  metrics: Array<{name: string; type?: string; units?: string; deadband: number; writable: boolean}>
  /** The first device's metric values, sample by sample, as its DBIRTH/DDATA would carry them (text beyond 2^53). */
  values: Array<Record<string, string | number | boolean>>
}

/** `iotd sim --dry-run` for the `sparkplug:` groups: topics, metrics and the first device's values. */
export function sampleSparkplugGroups(scenario: Scenario, samples: number, options: {startMs?: number} = {}): SparkplugGroupSample[] {
  const startMs = options.startMs ?? Date.now()
  return scenario.sparkplug.map((config) => {
    const node = new SparkplugEdgeNode(config, 0, scenario.seed)
    const device = node.devices[0]
    const values: SparkplugGroupSample['values'] = []
    for (let n = 0; n < samples; n++) {
      node.step(startMs + node.phaseMs + n * config.every)
      const row: Record<string, string | number | boolean> = {}
      for (const m of device ? config.metrics : config.nodeMetrics) row[m.name] = plain(node.valueOf(device?.deviceId, m.name))
      values.push(row)
    }
    const describe = (m: (typeof config.metrics)[number]) => ({name: m.name, type: m.type, units: m.units, deadband: m.deadband, writable: m.writable})
    return {
      name: config.name,
      group: config.group,
      nodes: config.nodes,
      devicesPerNode: config.devices,
      everyMs: config.every,
      primaryHost: config.primaryHost,
      stateTopic: config.primaryHost === undefined ? undefined : stateTopic(config.primaryHost),
      storeAndForwardMax: config.storeAndForward?.max,
      nodeId: node.nodeId,
      deviceId: device?.deviceId,
      topics: {
        nbirth: sparkplugTopic(config.group, 'NBIRTH', node.nodeId),
        ndeath: sparkplugTopic(config.group, 'NDEATH', node.nodeId),
        ndata: sparkplugTopic(config.group, 'NDATA', node.nodeId),
        ncmd: sparkplugTopic(config.group, 'NCMD', node.nodeId),
        ...(device && {
          dbirth: sparkplugTopic(config.group, 'DBIRTH', node.nodeId, device.deviceId),
          ddata: sparkplugTopic(config.group, 'DDATA', node.nodeId, device.deviceId),
          dcmd: sparkplugTopic(config.group, 'DCMD', node.nodeId, device.deviceId),
        }),
      },
      nodeMetrics: config.nodeMetrics.map(describe),
      metrics: config.metrics.map(describe),
      values,
    }
  })
}

/** Values beyond 2^53 (bigint) as text: JSON has no exact form for them. The rest as they are. */
function plain(v: ScalarValue | undefined): string | number | boolean {
  if (v === undefined) return ''
  return typeof v === 'bigint' ? v.toString() : v
}
