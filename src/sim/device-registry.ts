import {expandModbusDevices, modbusRowTopic} from './scenario/modbus-expand.js'
import {expandDevices, refuseShardBesideFleets, type ExpandOptions, type Scenario} from './scenario/index.js'

/**
 * `iotd sim registry`: every device of a scenario as one row — the device table a pipeline joins telemetry with.
 * The columns are the device's identity (deviceId, fleet, index, protocol, clientId, topic), then its vars (site,
 * line, ... — the metadata the scenario gives it) and its params (drawn per device), in the order the scenario
 * declares them. Rows are exactly the devices a run (or a backfill) of the same scenario and seed simulates.
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
  // A shard lists what `iotd sim --shard` runs, and that refuses a scenario with Modbus or Sparkplug sections.
  refuseShardBesideFleets(scenario, options.shard)
  const rows: DeviceRegistry['rows'] = []
  for (const d of scenario.fleets.length === 0 ? [] : expandDevices(scenario, options)) {
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
  // A fleet selection (--fleet) names MQTT fleets; the Modbus groups come with the whole scenario (or its one shard) only.
  if (options.fleets === undefined && (options.shard === undefined || options.shard.count === 1)) {
    for (const m of expandModbusDevices(scenario)) {
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
