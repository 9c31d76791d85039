import type {TagValue} from '../modbus/types.js'
import {createDeviceModel, dueOffsetMs} from './generators/index.js'
import {SimulatedModbusDevice} from './modbus/device.js'
import {expandModbusDevices} from './scenario/modbus-expand.js'
import {expandDevices, type Scenario} from './scenario/index.js'

/** `iotd sim --dry-run`: what each fleet would publish, without connecting anywhere. */

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
  /** Payloads of the first device's first messages (null = suppressed by a dropout anomaly). */
  payloads: Array<string | null>
}

export function sampleFleets(scenario: Scenario, samples: number, options: {fleets?: string[]; startMs?: number} = {}): FleetSample[] {
  const devices = expandDevices(scenario, {fleets: options.fleets})
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
