import type {AnomalySelection, FleetSample, ModbusGroupSample, SparkplugGroupSample} from '../sim/dry-run.js'
import {formatDuration} from '../config/units.js'
import {formatNotation} from '../modbus/address.js'
import type {Table} from '../modbus/types.js'

/** The text of `iotd sim --dry-run`: per fleet, where it publishes and what its first device would send. */
export function formatDryRun(scenario: string, seed: number, fleets: FleetSample[], modbus: ModbusGroupSample[] = [], sparkplug: SparkplugGroupSample[] = [], anomalies: AnomalySelection[] = [], shard?: {index: number; count: number}): string {
  const selections = (group: string) => anomalies.filter((a) => a.group === group).map((a) => `  anomaly       ${describeSelection(a)}`)
  const lines = [`${scenario}  seed ${seed}  (dry run${shard ? ` of shard ${shard.index + 1}/${shard.count}` : ''}: nothing was connected)`, '']
  for (const f of fleets) {
    lines.push(`fleet ${f.fleet}: ${f.devices} device${f.devices === 1 ? '' : 's'}, every ${formatDuration(f.everyMs)}, qos ${f.qos}${f.retain ? ', retained' : ''}`)
    lines.push(`  first device  ${f.deviceId} (client id ${f.clientId})`)
    lines.push(`  topic         ${f.topic}`)
    if (f.birth) lines.push(`  birth         ${f.birth.topic}  ${f.birth.payload}`)
    if (f.lwt) lines.push(`  will          ${f.lwt.topic}  ${f.lwt.payload}`)
    if (f.properties) lines.push(`  properties    ${JSON.stringify(f.properties)}`)
    if (f.subscribes) lines.push(`  subscribes    ${f.subscribes.join('  ')}`)
    if (f.behavior) lines.push(`  behavior      ${f.behavior} (your module; a dry run does not load it)`)
    lines.push(...selections(f.fleet))
    f.payloads.forEach((p, i) => lines.push(`  #${String(i).padEnd(4)}        ${p ?? '(suppressed by a dropout anomaly)'}`))
    lines.push('')
  }
  for (const g of modbus) {
    const ports = g.ports.every((p) => p === 0) ? 'a port the OS assigns' : spans(g.ports)
    lines.push(`modbus ${g.group}: ${g.devices} device${g.devices === 1 ? '' : 's'} on ${g.host}:${ports}, unit ids ${spans(g.unitIds)}, every ${formatDuration(g.everyMs)}`)
    lines.push(`  first device  ${g.deviceId} (unit ${g.unitId} at ${g.host}:${g.port === 0 ? '(assigned)' : g.port})`)
    if (g.mirrorTopic) lines.push(`  mirror        ${g.mirrorTopic}`)
    lines.push(...selections(g.group))
    lines.push(`  tags          ${g.tags.map((t) => `${t.name} ${formatNotation(t.table as Table, t.address)} ${t.type}${t.unit ? ` ${t.unit}` : ''}${t.writable ? ' (writable)' : ''}`).join(' · ')}`)
    g.values.forEach((v, i) => lines.push(`  #${String(i).padEnd(4)}        ${Object.entries(v).map(([k, x]) => `${k} ${typeof x === 'string' ? JSON.stringify(x) : String(x)}`).join(' · ')}`))
    lines.push('')
  }
  for (const g of sparkplug) {
    const devices = g.nodes * g.devicesPerNode
    lines.push(`sparkplug ${g.name}: group ${g.group}, ${g.nodes} edge node${g.nodes === 1 ? '' : 's'} × ${g.devicesPerNode} device${g.devicesPerNode === 1 ? '' : 's'} (${devices}), every ${formatDuration(g.everyMs)}, report by exception`)
    lines.push(`  first node    ${g.nodeId}${g.deviceId ? `, first device ${g.deviceId}` : ''}`)
    lines.push(`  births        ${g.topics.nbirth}${g.topics.dbirth ? `  ${g.topics.dbirth}` : ''}`)
    lines.push(`  data          ${g.topics.ndata}${g.topics.ddata ? `  ${g.topics.ddata}` : ''}`)
    lines.push(`  will          ${g.topics.ndeath} (bdSeq of the session)`)
    lines.push(`  commands      ${g.topics.ncmd}${g.topics.dcmd ? `  ${g.topics.dcmd}` : ''}`)
    if (g.stateTopic) lines.push(`  primary host  ${g.primaryHost}: publishes only while ${g.stateTopic} says online${g.storeAndForwardMax ? `; keeps up to ${g.storeAndForwardMax} samples per node meanwhile (store and forward)` : '; samples meanwhile are held, not sent'}`)
    const describe = (m: SparkplugGroupSample['metrics'][number]) => `${m.name}${m.type ? ` ${m.type}` : ''}${m.units ? ` ${m.units}` : ''}${m.deadband > 0 ? ` ±${m.deadband}` : ''}${m.writable ? ' (writable)' : ''}`
    if (g.nodeMetrics.length > 0) lines.push(`  node metrics  ${g.nodeMetrics.map(describe).join(' · ')}`)
    if (g.metrics.length > 0) lines.push(`  metrics       ${g.metrics.map(describe).join(' · ')}`)
    g.values.forEach((v, i) => lines.push(`  #${String(i).padEnd(4)}        ${Object.entries(v).map(([k, x]) => `${k} ${typeof x === 'string' ? JSON.stringify(x) : String(x)}`).join(' · ')}`))
    lines.push('')
  }
  return `${lines.join('\n')}`
}

/** "spike on temperature: 3 of 100 devices" */
export function describeSelection(s: AnomalySelection): string {
  const what = `${s.list === 'faults' ? `fault ${s.kind}` : s.kind}${s.field ? ` on ${s.field}` : ''}`
  // The default names (anomaly-N) say nothing the index does not: only a written name is shown.
  const named = s.name !== undefined && s.name !== `anomaly-${s.index + 1}` ? `${s.name}: ` : ''
  if (s.onCommand) return `${named}${what}: when a command starts it`
  return `${named}${what}: ${s.devices} of ${s.of} device${s.of === 1 ? '' : 's'}`
}

/** 5020, 5021, 5022, 5023, 5030 → "5020–5023, 5030". */
function spans(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++
    out.push(j > i ? `${sorted[i]}–${sorted[j]}` : String(sorted[i]))
    i = j + 1
  }
  return out.join(', ')
}
