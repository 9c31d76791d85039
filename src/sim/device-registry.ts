import {expandModbusDevices, modbusDeviceCount, modbusRowTopic} from './scenario/modbus-expand.js'
import {expandDevices, shardPart, type ExpandOptions, type Scenario} from './scenario/index.js'

/**
 * `iotd sim registry`: every device of a scenario as one row — the device table a pipeline joins telemetry with.
 * The columns are the device's identity (deviceId, fleet, index, protocol, clientId, topic), then its vars (site,
 * line, ... — the metadata the scenario gives it) and its params (drawn per device), in the order the scenario
 * declares them. Rows are exactly the devices a run (or a backfill) of the same scenario and seed simulates; a shard's
 * (--shard i/n) are those its backfill holds: the fleets' devices and the Modbus devices, each split by shardPart.
 */

export type RegistryValue = string | number | boolean

export interface DeviceRegistry {
  columns: string[]
  rows: Array<Record<string, RegistryValue>>
}

/** Template variables every device has, which the identity columns already carry. */
const BUILT_IN = new Set(['fleet', 'index', 'number', 'deviceId'])

export function deviceRegistry(scenario: Scenario, options: ExpandOptions = {}): DeviceRegistry {
  const columns = ['deviceId', 'fleet', 'index', 'protocol', 'clientId', 'topic']
  const seen = new Set(columns)
  const column = (name: string) => {
    if (!seen.has(name)) {
      seen.add(name)
      columns.push(name)
    }
  }
  // A fleet selection (--fleet) names MQTT fleets; the Modbus groups come with the whole scenario (or a shard of it).
  const modbus = options.fleets === undefined
  // A shard splits the Modbus devices as it does the fleets' (a backfill's split): refused only when it holds none of either.
  const fleetDevices = expandDevices(scenario, {...options, alsoSplit: modbus ? modbusDeviceCount(scenario) : 0})
  const rows: DeviceRegistry['rows'] = []
  for (const d of fleetDevices) {
    const row: Record<string, RegistryValue> = {deviceId: d.deviceId, fleet: d.fleet, index: d.index, protocol: 'mqtt', clientId: d.clientId, topic: d.topic}
    for (const [name, value] of Object.entries(d.vars)) {
      if (BUILT_IN.has(name) || name.startsWith('params.')) continue
      column(name)
      row[name] = value
    }
    for (const [name, value] of Object.entries(d.params ?? {})) {
      column(name)
      row[name] = value
    }
    rows.push(row)
  }
  if (modbus) {
    for (const m of shardPart(expandModbusDevices(scenario), options.shard)) {
      const row: Record<string, RegistryValue> = {deviceId: m.deviceId, fleet: m.group, index: m.index, protocol: 'modbus', clientId: '', topic: modbusRowTopic(m)}
      for (const [name, value] of Object.entries(m.vars)) {
        if (BUILT_IN.has(name)) continue
        column(name)
        row[name] = value
      }
      column('host')
      row.host = m.host
      rows.push(row)
    }
  }
  return {columns, rows}
}
