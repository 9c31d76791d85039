import {hashUniform} from '../generators/prng.js'
import type {Scenario} from './schema.js'
import {parseTemplate, renderTemplate} from '../../config/template.js'
import type {ModbusGroupConfig} from './modbus-schema.js'

/** Devices of a group: every unit id behind every listener. */
export function groupSize(group: ModbusGroupConfig): number {
  return group.listeners * group.units.length
}

/** The scenario's simulated Modbus devices, all groups together (what a backfill shard splits beside the fleets). */
export function modbusDeviceCount(scenario: Scenario): number {
  return scenario.modbus.reduce((sum, group) => sum + groupSize(group), 0)
}

/** One simulated Modbus device: a unit id behind one listener of its group, templates rendered. */
export interface ModbusDeviceSpec {
  group: string
  /** Index within the group: listener × units per listener + position of the unit id. */
  index: number
  deviceId: string
  /** Listener number within the group (0-based). */
  listener: number
  host: string
  /** Configured port; 0 until the OS assigns one when the group's port is 0. */
  port: number
  unitId: number
  everyMs: number
  /** Offset of the device's value updates within its period, seeded, so a plant does not update all at once. */
  phaseMs: number
  /** Rendered mirror topic, when the group mirrors to MQTT. */
  mirrorTopic?: string
  vars: Record<string, string>
}

/** Placeholders of Modbus device templates. */
export const MODBUS_PLACEHOLDERS = ['fleet', 'index', 'number', 'unit', 'port', 'listener'] as const

/**
 * The topic a Modbus device's values travel on when they are rows (backfill, registry): its mirror topic, or
 * modbus/<group>/<deviceId> when its group has no mirror.
 */
export function modbusRowTopic(d: Pick<ModbusDeviceSpec, 'group' | 'deviceId' | 'mirrorTopic'>): string {
  return d.mirrorTopic ?? `modbus/${d.group}/${d.deviceId}`
}

export function listenerPort(group: ModbusGroupConfig, listener: number): number {
  return group.port === 0 ? 0 : group.port + listener
}

export function expandModbusDevices(scenario: Scenario): ModbusDeviceSpec[] {
  const out: ModbusDeviceSpec[] = []
  for (const group of scenario.modbus) {
    const id = parseTemplate(group.id)
    const topic = group.mirror ? parseTemplate(group.mirror.topic) : undefined
    for (let listener = 0; listener < group.listeners; listener++) {
      const port = listenerPort(group, listener)
      group.units.forEach((unitId, k) => {
        const index = listener * group.units.length + k
        const vars: Record<string, string> = {
          fleet: group.name,
          index: String(index),
          number: String(index + 1),
          unit: String(unitId),
          port: String(port),
          listener: String(listener),
        }
        vars.deviceId = renderTemplate(id, (n) => vars[n])
        const device: ModbusDeviceSpec = {
          group: group.name,
          index,
          deviceId: vars.deviceId,
          listener,
          host: group.host,
          port,
          unitId,
          everyMs: group.every,
          phaseMs: Math.floor(hashUniform([scenario.seed, group.name, index, 'phase']) * group.every),
          vars,
        }
        if (topic) device.mirrorTopic = renderTemplate(topic, (n) => vars[n])
        out.push(device)
      })
    }
  }
  return out
}
