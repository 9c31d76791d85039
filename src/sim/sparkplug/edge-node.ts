import {INTEGER_RANGE, isNumericType, type ScalarTypeName} from '../../sparkplug/datatypes.js'
import {encodePayload, retypeValue, type MetricToEncode, type SparkplugMetric} from '../../sparkplug/payload.js'
import {sparkplugTopic, type MessageType} from '../../sparkplug/topic.js'
import type {FieldValue} from '../generators/field-generators.js'
import {FieldStepper} from '../generators/field-stepper.js'
import {createRng, hashUniform} from '../generators/prng.js'
import {parseTemplate, renderTemplate} from '../../config/template.js'
import type {SparkplugGroupConfig, SparkplugMetricConfig} from '../scenario/sparkplug-schema.js'

/**
 * One simulated Sparkplug B edge node and its devices, without a socket: it steps the metrics' generators, numbers
 * its messages (seq 0..255 per node, NBIRTH at 0), builds births, reports by exception past each metric's deadband,
 * and applies commands (rebirth, writes). The simulator (simulator.ts) connects it and publishes what it returns.
 *
 * Writes hold like Modbus setpoints: the generator keeps stepping (its stream does not depend on writes), the metric
 * reports the written value until the next write.
 */

export type ScalarValue = number | bigint | boolean | string

export interface OutgoingMessage {
  type: MessageType
  topic: string
  payload: Buffer
  /** The seq the message carries (NDEATH has none). */
  seq?: number
}

export interface CommandResult {
  rebirth: boolean
  writes: number
  /** Metrics the command named that cannot be written (unknown, or not writable), with the reason. */
  refused: string[]
}

/** Aliases are unique within an edge node: the node's own metrics first, then each device's block. */
const REBIRTH_ALIAS = 1
const NODE_METRIC_ALIAS_BASE = 2
export const BDSEQ = 'bdSeq'
export const REBIRTH = 'Node Control/Rebirth'

interface MetricSlot {
  config: SparkplugMetricConfig
  alias: number
  /** Declared, or taken from the first value when the scenario left it out. */
  type?: ScalarTypeName
  /** What the last birth or data message said (report by exception compares against it). */
  reported?: ScalarValue
  /** What the last stored (store-and-forward) sample said while the node was not born. */
  stored?: ScalarValue
}

/** One sample taken while the node was not born, kept by exception for the next session. */
interface StoredSample {
  tsMs: number
  node: MetricToEncode[]
  devices: Array<{deviceId: string; metrics: MetricToEncode[]}>
}

class MetricSet {
  readonly stepper: FieldStepper
  readonly slots: MetricSlot[]
  readonly byName: Map<string, MetricSlot>
  readonly byAlias: Map<number, MetricSlot>
  readonly setpoints = new Map<string, FieldValue>()
  private n = 0

  constructor(metrics: SparkplugMetricConfig[], firstAlias: number, key: (...rest: Array<string | number>) => ReturnType<typeof createRng>, vars: Record<string, string>) {
    this.slots = metrics.map((config, i) => ({config, alias: firstAlias + i, type: config.type}))
    this.byName = new Map(this.slots.map((s) => [s.config.name, s]))
    this.byAlias = new Map(this.slots.map((s) => [s.alias, s]))
    this.stepper = new FieldStepper({
      fields: metrics.map((m) => [m.name, m.value] as const),
      anomalies: [],
      key,
      renderConstant: (text) => renderTemplate(parseTemplate(text, 'lenient'), (name) => vars[name]),
    })
  }

  step(tsMs: number, id: string): void {
    this.stepper.step(this.n++, tsMs, 'default', id, (name, generated) => this.setpoints.get(name) ?? generated)
  }

  valueOf(slot: MetricSlot): ScalarValue {
    const raw = this.stepper.values.get(slot.config.name)
    slot.type ??= inferType(raw)
    return typed(slot.type, raw)
  }
}

function inferType(v: unknown): ScalarTypeName {
  return typeof v === 'boolean' ? 'Boolean' : typeof v === 'string' ? 'String' : 'Double'
}

/** A generated value as the metric's type holds it: integers rounded and clamped to the type's range. */
export function typed(type: ScalarTypeName, v: unknown): ScalarValue {
  if (typeof v === 'object' && v !== null && typeof v !== 'bigint') v = JSON.stringify(v)
  const range = INTEGER_RANGE[type]
  if (range) {
    if (typeof v === 'bigint') return v
    const n = typeof v === 'boolean' ? Number(v) : Number(v)
    if (!Number.isFinite(n)) return 0
    return Math.min(range[1], Math.max(range[0], Math.round(n)))
  }
  if (type === 'Float' || type === 'Double') return typeof v === 'bigint' ? Number(v) : Number(v)
  if (type === 'Boolean') return typeof v === 'string' ? v === 'true' : Boolean(v)
  return String(v)
}

function changed(slot: MetricSlot, value: ScalarValue, last: ScalarValue | undefined = slot.reported): boolean {
  if (last === undefined) return true
  if (slot.type && isNumericType(slot.type) && typeof value === 'number' && typeof last === 'number') {
    return slot.config.deadband > 0 ? Math.abs(value - last) > slot.config.deadband : value !== last
  }
  return value !== last
}

function birthProperties(config: SparkplugMetricConfig): MetricToEncode['properties'] {
  const props: NonNullable<MetricToEncode['properties']> = {}
  if (config.units !== undefined) props.engUnit = {type: 'String', value: config.units}
  for (const [k, v] of Object.entries(config.properties ?? {})) props[k] = {type: typeof v === 'number' ? 'Double' : typeof v === 'boolean' ? 'Boolean' : 'String', value: v}
  return Object.keys(props).length > 0 ? props : undefined
}

export interface SimulatedDevice {
  deviceId: string
  index: number
  metrics: MetricSet
  born: boolean
}

export class SparkplugEdgeNode {
  readonly group: string
  readonly nodeId: string
  readonly nodeIndex: number
  /** Offset of the node's samples within its period, seeded, so fifty nodes do not publish in the same instant. */
  readonly phaseMs: number
  readonly devices: SimulatedDevice[]
  private readonly node: MetricSet
  private readonly rebirth = {reported: false}
  /** -1 until the first session: the first connect gets bdSeq 0. */
  private bdSeqValue = -1
  private seq = 0
  /** Store and forward: samples taken while not born, oldest first (a ring of at most `storeLimit`). */
  private readonly store: StoredSample[] = []
  private storeHead = 0
  private readonly storeLimit: number
  /** Samples the store could not keep (it was full): the oldest are let go first. */
  storeDropped = 0
  born = false

  constructor(config: SparkplugGroupConfig, nodeIndex: number, seed: number) {
    this.group = config.group
    this.nodeIndex = nodeIndex
    this.storeLimit = config.storeAndForward?.max ?? 0
    const nodeVars = {name: config.name, group: config.group, index: String(nodeIndex), number: String(nodeIndex + 1)}
    this.nodeId = renderTemplate(parseTemplate(config.nodeId), (n) => nodeVars[n as keyof typeof nodeVars])
    this.phaseMs = Math.floor(hashUniform([seed, 'sparkplug', config.name, nodeIndex, 'phase']) * config.every)
    const key = (scope: string | number) => (...rest: Array<string | number>) => createRng([seed, 'sparkplug', config.name, nodeIndex, scope, ...rest])
    this.node = new MetricSet(config.nodeMetrics, NODE_METRIC_ALIAS_BASE, key('node'), {...nodeVars, node: this.nodeId})
    const deviceTemplate = parseTemplate(config.deviceId)
    const perDevice = config.metrics.length
    const firstDeviceAlias = NODE_METRIC_ALIAS_BASE + config.nodeMetrics.length
    this.devices = Array.from({length: config.devices}, (_, index) => {
      const vars: Record<string, string> = {name: config.name, group: config.group, node: this.nodeId, nodeIndex: String(nodeIndex), index: String(index), number: String(index + 1)}
      const deviceId = renderTemplate(deviceTemplate, (n) => vars[n])
      return {deviceId, index, metrics: new MetricSet(config.metrics, firstDeviceAlias + index * perDevice, key(index), {...vars, deviceId}), born: false}
    })
  }

  get bdSeq(): number {
    return Math.max(0, this.bdSeqValue)
  }

  /** A new MQTT session: the next bdSeq (0..255), which the will (NDEATH) and the coming NBIRTH carry. */
  nextSession(): number {
    this.bdSeqValue = (this.bdSeqValue + 1) % 256
    this.born = false
    for (const d of this.devices) d.born = false
    return this.bdSeqValue
  }

  /** The NDEATH of the current session: set as the will at connect, and published before a clean disconnect. */
  death(tsMs?: number): OutgoingMessage {
    const payload = encodePayload({timestamp: tsMs, metrics: [{name: BDSEQ, datatype: 'Int64', value: this.bdSeq}]})
    return {type: 'NDEATH', topic: sparkplugTopic(this.group, 'NDEATH', this.nodeId), payload: Buffer.from(payload)}
  }

  /** Samples every metric of the node and its devices (stepped whether or not the node is born). */
  step(tsMs: number): void {
    this.node.step(tsMs, this.nodeId)
    for (const d of this.devices) d.metrics.step(tsMs, d.deviceId)
  }

  /** NBIRTH (seq 0, bdSeq, every node metric) and a DBIRTH per device: the full state, with names, aliases, types. */
  birth(tsMs: number): OutgoingMessage[] {
    this.seq = 0
    this.born = true
    const out: OutgoingMessage[] = []
    const nodeMetrics: MetricToEncode[] = [
      {name: BDSEQ, datatype: 'Int64', value: this.bdSeq, timestamp: tsMs},
      {name: REBIRTH, alias: REBIRTH_ALIAS, datatype: 'Boolean', value: false, timestamp: tsMs},
      ...this.birthMetrics(this.node, tsMs),
    ]
    out.push(this.message('NBIRTH', tsMs, nodeMetrics))
    for (const d of this.devices) {
      d.born = true
      out.push(this.message('DBIRTH', tsMs, this.birthMetrics(d.metrics, tsMs), d.deviceId))
    }
    return out
  }

  /** NDATA and DDATA with the metrics that changed past their deadband since they were last reported. */
  data(tsMs: number): OutgoingMessage[] {
    if (!this.born) return []
    const out: OutgoingMessage[] = []
    const nodeChanges = this.changes(this.node, tsMs)
    if (nodeChanges.length > 0) out.push(this.message('NDATA', tsMs, nodeChanges))
    for (const d of this.devices) {
      if (!d.born) continue
      const changes = this.changes(d.metrics, tsMs)
      if (changes.length > 0) out.push(this.message('DDATA', tsMs, changes, d.deviceId))
    }
    return out
  }

  /** Samples kept for the next session (store and forward). */
  get storedSamples(): number {
    return this.store.length - this.storeHead
  }

  /**
   * Store and forward (Sparkplug 3.0, optional for edge nodes): a sample taken while the node is not born is kept,
   * by exception against what was last reported or stored, so that the next session can send it as historical data.
   * Returns false when the node keeps nothing (no store configured).
   */
  hold(tsMs: number): boolean {
    if (this.storeLimit === 0) return false
    const node = this.historicalChanges(this.node, tsMs)
    const devices: StoredSample['devices'] = []
    for (const d of this.devices) {
      const metrics = this.historicalChanges(d.metrics, tsMs)
      if (metrics.length > 0) devices.push({deviceId: d.deviceId, metrics})
    }
    // A sample with no change is kept too (it sends nothing), so that forwarded + dropped = held adds up.
    this.store.push({tsMs, node, devices})
    if (this.storedSamples > this.storeLimit) {
      this.storeHead++
      this.storeDropped++
      // Compact now and then so the ring's dead head does not grow without bound.
      if (this.storeHead > 1024 && this.storeHead * 2 > this.store.length) {
        this.store.splice(0, this.storeHead)
        this.storeHead = 0
      }
    }
    return true
  }

  /**
   * After a birth: the stored samples as NDATA/DDATA with is_historical metrics at their own timestamps, oldest
   * first, numbered in this session's seq. The birth already carried the current values, so a host that applies
   * historical metrics to its history and not to its current state sees both right.
   */
  forward(): {messages: OutgoingMessage[]; samples: number} {
    const samples = this.storedSamples
    const messages: OutgoingMessage[] = []
    for (let i = this.storeHead; i < this.store.length; i++) {
      const s = this.store[i]
      if (s.node.length > 0) messages.push(this.message('NDATA', s.tsMs, s.node))
      for (const d of s.devices) messages.push(this.message('DDATA', s.tsMs, d.metrics, d.deviceId))
    }
    this.store.length = 0
    this.storeHead = 0
    for (const slot of this.allSlots()) slot.stored = undefined
    return {messages, samples}
  }

  /** DDEATH of every device that is born (end of a run, before the NDEATH). */
  deviceDeaths(tsMs: number): OutgoingMessage[] {
    if (!this.born) return []
    const out: OutgoingMessage[] = []
    for (const d of this.devices) {
      if (!d.born) continue
      d.born = false
      out.push(this.message('DDEATH', tsMs, [], d.deviceId))
    }
    return out
  }

  /** Applies an NCMD (device undefined) or DCMD: rebirth, or writes to writable metrics by name or alias. */
  command(device: string | undefined, metrics: SparkplugMetric[]): CommandResult {
    const result: CommandResult = {rebirth: false, writes: 0, refused: []}
    const target = device === undefined ? this.node : this.devices.find((d) => d.deviceId === device)?.metrics
    if (!target) {
      result.refused.push(`device ${device} is not on edge node ${this.nodeId}`)
      return result
    }
    for (const m of metrics) {
      if (device === undefined && (m.name === REBIRTH || (m.name === undefined && m.alias === REBIRTH_ALIAS))) {
        if (m.value === true) result.rebirth = true
        continue
      }
      const slot = m.name !== undefined ? target.byName.get(m.name) : m.alias !== undefined ? target.byAlias.get(m.alias) : undefined
      const label = m.name ?? `alias ${m.alias}`
      if (!slot) {
        result.refused.push(`${label}: no such metric`)
        continue
      }
      if (!slot.config.writable) {
        result.refused.push(`${label}: not writable`)
        continue
      }
      const type = slot.type ?? inferType(m.value)
      const v = retypeValue(m, type)
      if (v === null || typeof v === 'object') {
        result.refused.push(`${label}: a ${type} cannot take this value`)
        continue
      }
      const value = typed(type, v)
      target.setpoints.set(slot.config.name, typeof value === 'bigint' ? Number(value) : value)
      result.writes++
    }
    return result
  }

  /** The value a metric reports now (for tests and the dry run). */
  valueOf(device: string | undefined, metric: string): ScalarValue | undefined {
    const set = device === undefined ? this.node : this.devices.find((d) => d.deviceId === device)?.metrics
    const slot = set?.byName.get(metric)
    return slot && set ? set.valueOf(slot) : undefined
  }

  private birthMetrics(set: MetricSet, tsMs: number): MetricToEncode[] {
    return set.slots.map((slot) => {
      const value = set.valueOf(slot)
      slot.reported = value
      return {name: slot.config.name, alias: slot.alias, datatype: slot.type as ScalarTypeName, value, timestamp: tsMs, properties: birthProperties(slot.config)}
    })
  }

  private *allSlots(): Iterable<MetricSlot> {
    yield* this.node.slots
    for (const d of this.devices) yield* d.metrics.slots
  }

  private historicalChanges(set: MetricSet, tsMs: number): MetricToEncode[] {
    const out: MetricToEncode[] = []
    for (const slot of set.slots) {
      const value = set.valueOf(slot)
      if (!changed(slot, value, slot.stored ?? slot.reported)) continue
      slot.stored = value
      out.push({alias: slot.alias, datatype: slot.type as ScalarTypeName, value, timestamp: tsMs, omitDatatype: true, isHistorical: true})
    }
    return out
  }

  private changes(set: MetricSet, tsMs: number): MetricToEncode[] {
    const out: MetricToEncode[] = []
    for (const slot of set.slots) {
      const value = set.valueOf(slot)
      if (!changed(slot, value)) continue
      slot.reported = value
      // Data messages carry the alias alone: the birth gave the name and the type (Sparkplug 3.0 leaves the
      // datatype out of NDATA/DDATA).
      out.push({alias: slot.alias, datatype: slot.type as ScalarTypeName, value, timestamp: tsMs, omitDatatype: true})
    }
    return out
  }

  private message(type: MessageType, tsMs: number, metrics: MetricToEncode[], device?: string): OutgoingMessage {
    const seq = this.seq
    this.seq = (this.seq + 1) % 256
    const payload = encodePayload({timestamp: tsMs, seq, metrics})
    return {type, topic: sparkplugTopic(this.group, type, this.nodeId, device), payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), seq}
  }
}
