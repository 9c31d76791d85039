import {HOST_COUNTER_NAMES, type HostCounters, type SparkplugObservation} from './host-session.js'
import {jsonValue} from './payload.js'

/**
 * What iotd shows of a Sparkplug message: the JSON object of `iotd tail --format ndjson` (and of --where/--fields),
 * the flat rows of the pipeline's `sparkplugb` payload (one per metric), and the --stats line of the host checks.
 */

/** The decoded message as plain JSON: topic parts, seq, bdSeq, metrics with names resolved through the births. */
export function observationJson(o: SparkplugObservation): Record<string, unknown> {
  const problems = o.problems.length > 0 ? {problems: o.problems.map((p) => `${p.kind}: ${p.message}`)} : {}
  if (o.kind === 'state') return {type: 'STATE', host: o.host, online: o.online, timestamp: o.timestamp, ...problems}
  if (o.kind === 'undecodable') return {type: o.type, group: o.group, node: o.node, device: o.device, ...problems}
  const p = o.payload
  const out: Record<string, unknown> = {type: o.type, group: o.group, node: o.node}
  if (o.device !== undefined) out.device = o.device
  if (p.seq !== undefined) out.seq = p.seq
  if (o.bdSeq !== undefined) out.bdSeq = o.bdSeq
  if (p.timestamp !== undefined) out.timestamp = p.timestamp
  out.metrics = p.metrics.map((m) => {
    const metric: Record<string, unknown> = {}
    if (m.name !== undefined) metric.name = m.name
    if (m.alias !== undefined) metric.alias = m.alias
    if (m.datatype !== undefined) metric.datatype = m.datatype
    metric.value = jsonValue(m.value)
    if (m.units !== undefined) metric.units = m.units
    if (m.timestamp !== undefined) metric.timestamp = m.timestamp
    if (m.properties !== undefined) metric.properties = jsonValue(m.properties)
    if (m.isHistorical) metric.historical = true
    return metric
  })
  return {...out, ...problems}
}

/**
 * One pipeline row: the message's topic parts under the specification's names (`group` is an SQL keyword) and one
 * metric; a death or STATE, which has no metric, is one row.
 */
export interface SparkplugRow {
  type: string
  group_id: string | null
  edge_node_id: string | null
  device_id: string | null
  host?: string
  seq: number | null
  bdSeq?: number
  name: string | null
  alias: number | null
  datatype: string | null
  value: unknown
  units: string | null
  /** The metric's timestamp, else the payload's (epoch ms); null when neither has one. */
  timestamp: number | null
}

export function observationRows(o: SparkplugObservation): SparkplugRow[] {
  if (o.kind === 'state') return [{type: 'STATE', group_id: null, edge_node_id: null, device_id: null, host: o.host, seq: null, name: 'online', alias: null, datatype: 'Boolean', value: o.online ?? null, units: null, timestamp: o.timestamp ?? null}]
  if (o.kind === 'undecodable') return []
  const base = {type: o.type, group_id: o.group, edge_node_id: o.node, device_id: o.device ?? null, seq: o.payload.seq ?? null, ...(o.bdSeq !== undefined ? {bdSeq: o.bdSeq} : {})}
  const ts = o.payload.timestamp ?? null
  if (o.payload.metrics.length === 0) return [{...base, name: null, alias: null, datatype: null, value: null, units: null, timestamp: ts}]
  return o.payload.metrics.map((m) => ({
    ...base,
    name: m.name ?? null,
    alias: m.alias ?? null,
    datatype: m.datatype ?? null,
    value: jsonValue(m.value),
    units: m.units ?? null,
    timestamp: m.timestamp ?? ts,
  }))
}

const LABELS: Record<(typeof HOST_COUNTER_NAMES)[number], string> = {
  seqGaps: 'seq gaps',
  missedMessages: 'missed',
  dataBeforeBirth: 'data before birth',
  staleBdSeq: 'stale bdSeq',
  unknownAliases: 'unknown aliases',
  decodeErrors: 'undecodable',
}

/** `sparkplug  1,204 messages (25 births, 0 deaths, 1,179 data) · seq gaps 0 · missed 0 · ...` */
export function hostCountersLine(c: HostCounters, format: (n: number) => string = String): string {
  const checks = HOST_COUNTER_NAMES.map((k) => `${LABELS[k]} ${format(c[k])}`).join(' · ')
  return `sparkplug  ${format(c.messages)} messages (${format(c.births)} births, ${format(c.deaths)} deaths, ${format(c.data)} data, ${format(c.commands)} commands, ${format(c.states)} STATE) · ${checks}`
}
