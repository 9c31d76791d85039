import type {DataTypeName} from './datatypes.js'
import {decodePayload, retypeValue, type SparkplugMetric, type SparkplugPayload} from './payload.js'
import {parseSparkplugTopic, parseStatePayload, type MessageType} from './topic.js'

/**
 * What a Sparkplug host application keeps per edge node, and the checks it makes on every message (Sparkplug 3.0,
 * host application behaviour): births declare metric names, aliases and types; data messages are read through the
 * births' aliases; every message of an edge node but NDEATH carries seq = previous + 1 (mod 256); NDEATH counts
 * only when its bdSeq is the one of the node's current NBIRTH. `iotd tail`, the pipeline's `sparkplugb` source and
 * replay checks all read through this one class.
 */

export type HostProblemKind = 'seq-gap' | 'data-before-birth' | 'stale-bdseq' | 'unknown-alias' | 'decode-error'

export interface HostProblem {
  kind: HostProblemKind
  message: string
}

export interface HostCounters {
  messages: number
  births: number
  deaths: number
  data: number
  commands: number
  states: number
  seqGaps: number
  /** Messages missing in the gaps (sum of the jumps). */
  missedMessages: number
  dataBeforeBirth: number
  staleBdSeq: number
  unknownAliases: number
  decodeErrors: number
}

export const HOST_COUNTER_NAMES = ['seqGaps', 'missedMessages', 'dataBeforeBirth', 'staleBdSeq', 'unknownAliases', 'decodeErrors'] as const

export function emptyHostCounters(): HostCounters {
  return {messages: 0, births: 0, deaths: 0, data: 0, commands: 0, states: 0, seqGaps: 0, missedMessages: 0, dataBeforeBirth: 0, staleBdSeq: 0, unknownAliases: 0, decodeErrors: 0}
}

/** A metric as a host reads it: name and type from the birth when the message gave only an alias. */
export interface ResolvedMetric extends SparkplugMetric {
  name?: string
  datatype?: DataTypeName | 'Unknown'
  /** The engUnit property of the metric's birth. */
  units?: string
}

export type SparkplugObservation =
  | {
      kind: 'message'
      group: string
      type: MessageType
      node: string
      device?: string
      payload: Omit<SparkplugPayload, 'metrics'> & {metrics: ResolvedMetric[]}
      /** The bdSeq metric of an NBIRTH or NDEATH. */
      bdSeq?: number
      problems: HostProblem[]
    }
  | {kind: 'state'; host: string; online?: boolean; timestamp?: number; problems: HostProblem[]}
  | {kind: 'undecodable'; group: string; type: MessageType; node: string; device?: string; problems: HostProblem[]}

interface MetricDef {
  name: string
  datatype?: DataTypeName | 'Unknown'
  units?: string
}

interface Definitions {
  born: boolean
  byAlias: Map<number, MetricDef>
  byName: Map<string, MetricDef>
}

interface NodeState extends Definitions {
  bdSeq?: number
  lastSeq?: number
  devices: Map<string, Definitions>
}

const fresh = (): Definitions => ({born: false, byAlias: new Map(), byName: new Map()})

export class SparkplugHostSession {
  readonly counters: HostCounters = emptyHostCounters()
  private readonly nodes = new Map<string, NodeState>()

  /** Reads one message; undefined when the topic is not Sparkplug B. Never throws on bad bytes (counted instead). */
  observe(topic: string, bytes: Uint8Array): SparkplugObservation | undefined {
    const t = parseSparkplugTopic(topic)
    if (!t) return undefined
    this.counters.messages++
    if (t.kind === 'state') {
      this.counters.states++
      const state = parseStatePayload(bytes)
      if (!state) return this.decodeFailed<SparkplugObservation>({kind: 'state', host: t.host, problems: []}, `STATE of ${t.host} is not {"online": bool, "timestamp": ms}`)
      return {kind: 'state', host: t.host, online: state.online, timestamp: state.timestamp, problems: []}
    }
    let payload: Omit<SparkplugPayload, 'metrics'> & {metrics: ResolvedMetric[]}
    try {
      payload = decodePayload(bytes)
    } catch (error) {
      return this.decodeFailed<SparkplugObservation>({kind: 'undecodable', group: t.group, type: t.type, node: t.node, device: t.device, problems: []}, `${topic}: not a Sparkplug B payload (${(error as Error).message})`)
    }
    const key = `${t.group}/${t.node}`
    let node = this.nodes.get(key)
    if (!node) {
      node = {...fresh(), devices: new Map()}
      this.nodes.set(key, node)
    }
    const problems: HostProblem[] = []
    const obs: SparkplugObservation = {kind: 'message', group: t.group, type: t.type, node: t.node, device: t.device, payload, problems}
    const where = t.device === undefined ? `${t.group}/${t.node}` : `${t.group}/${t.node}/${t.device}`
    switch (t.type) {
      case 'NBIRTH': {
        this.counters.births++
        node.born = true
        node.byAlias = new Map()
        node.byName = new Map()
        node.devices = new Map()
        define(node, payload.metrics)
        obs.bdSeq = bdSeqOf(payload)
        node.bdSeq = obs.bdSeq
        node.lastSeq = payload.seq
        break
      }
      case 'NDEATH': {
        this.counters.deaths++
        obs.bdSeq = bdSeqOf(payload)
        if (node.bdSeq !== undefined && obs.bdSeq !== node.bdSeq) {
          // An NDEATH from an earlier session (the broker sent a will late): the node is still online.
          this.problem(problems, 'stale-bdseq', `${where}: NDEATH bdSeq ${obs.bdSeq} is not the current NBIRTH's ${node.bdSeq} (ignored, node stays online)`)
          break
        }
        node.born = false
        node.lastSeq = undefined
        for (const d of node.devices.values()) d.born = false
        break
      }
      case 'DBIRTH':
      case 'DDEATH':
      case 'NDATA':
      case 'DDATA': {
        if (!node.born) {
          this.problem(problems, 'data-before-birth', `${where}: ${t.type} before the edge node's NBIRTH`)
        } else {
          this.checkSeq(node, payload, where, t.type, problems)
        }
        if (t.type === 'DBIRTH') {
          this.counters.births++
          const dev = fresh()
          dev.born = true
          define(dev, payload.metrics)
          node.devices.set(t.device as string, dev)
          break
        }
        const defs = t.device === undefined ? node : node.devices.get(t.device)
        if (t.type === 'DDEATH') {
          this.counters.deaths++
          if (defs) defs.born = false
          break
        }
        this.counters.data++
        if (t.device !== undefined && node.born && !defs?.born) this.problem(problems, 'data-before-birth', `${where}: DDATA before the device's DBIRTH`)
        this.resolve(defs, payload.metrics, where, problems, defs?.born ?? false)
        break
      }
      case 'NCMD':
      case 'DCMD': {
        this.counters.commands++
        const defs = t.device === undefined ? node : node.devices.get(t.device)
        this.resolve(defs, payload.metrics, where, problems, false)
        break
      }
    }
    return obs
  }

  private checkSeq(node: NodeState, payload: SparkplugPayload, where: string, type: MessageType, problems: HostProblem[]): void {
    const seq = payload.seq
    if (seq === undefined) {
      this.problem(problems, 'seq-gap', `${where}: ${type} without seq`)
      return
    }
    if (node.lastSeq !== undefined) {
      const expected = (node.lastSeq + 1) % 256
      if (seq !== expected) {
        this.counters.missedMessages += (seq - expected + 256) % 256
        this.problem(problems, 'seq-gap', `${where}: ${type} seq ${seq}, expected ${expected}`)
      }
    }
    node.lastSeq = seq
  }

  /** Names and types from the births; `strict` counts an alias the birth did not declare. */
  private resolve(defs: Definitions | undefined, metrics: ResolvedMetric[], where: string, problems: HostProblem[], strict: boolean): void {
    for (const m of metrics) {
      const def = m.name !== undefined ? defs?.byName.get(m.name) : m.alias !== undefined ? defs?.byAlias.get(m.alias) : undefined
      if (!def) {
        if (strict && m.name === undefined) this.problem(problems, 'unknown-alias', `${where}: alias ${m.alias} is not in the birth`)
        continue
      }
      m.name ??= def.name
      if (def.units !== undefined) m.units = def.units
      if (m.datatype === undefined && def.datatype !== undefined) {
        m.datatype = def.datatype
        m.value = retypeValue(m, def.datatype)
      }
    }
  }

  private problem(problems: HostProblem[], kind: HostProblemKind, message: string): void {
    problems.push({kind, message})
    const counter = COUNTER_OF[kind]
    this.counters[counter]++
  }

  private decodeFailed<T extends {problems: HostProblem[]}>(obs: T, message: string): T {
    this.problem(obs.problems, 'decode-error', message)
    return obs
  }
}

const COUNTER_OF: Record<HostProblemKind, keyof HostCounters> = {
  'seq-gap': 'seqGaps',
  'data-before-birth': 'dataBeforeBirth',
  'stale-bdseq': 'staleBdSeq',
  'unknown-alias': 'unknownAliases',
  'decode-error': 'decodeErrors',
}

function define(defs: Definitions, metrics: ResolvedMetric[]): void {
  for (const m of metrics) {
    if (m.name === undefined) continue
    const units = m.properties?.engUnit
    if (typeof units === 'string') m.units = units
    const def = {name: m.name, datatype: m.datatype, units: m.units}
    defs.byName.set(m.name, def)
    if (m.alias !== undefined) defs.byAlias.set(m.alias, def)
  }
}

function bdSeqOf(payload: SparkplugPayload): number | undefined {
  const v = payload.metrics.find((m) => m.name === 'bdSeq')?.value
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined
}
