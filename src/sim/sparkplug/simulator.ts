import type {MqttClient} from 'mqtt'
import {backoffDelay, createMqttClient, type BackoffOptions, type ClientOptions} from '../../net/index.js'
import {decodePayload} from '../../sparkplug/payload.js'
import {parseSparkplugTopic, parseStatePayload, sparkplugTopic, stateTopic} from '../../sparkplug/topic.js'
import type {Scenario} from '../scenario/schema.js'
import {emptyCounters, type FleetCounters} from '../types.js'
import {SparkplugEdgeNode, type OutgoingMessage} from './edge-node.js'
import type {SparkplugGroupConfig} from '../scenario/sparkplug-schema.js'

/**
 * Runs the `sparkplug:` groups of a scenario in this thread beside the MQTT fleet: one MQTT session per edge node,
 * each session with its own bdSeq and the NDEATH carrying it as the will; births after the subscriptions (NCMD,
 * DCMD, the primary host's STATE) are in place; samples on a drift-free schedule (phase + n × every), reported by
 * exception. While the primary host is offline a node is not born: it sends NDEATH, starts a new session and waits,
 * and its samples are held (counted), not published; with storeAndForward they are kept and sent after the next
 * birth as historical data.
 */

export interface SparkplugCounters {
  name: string
  group: string
  nodes: number
  devices: number
  /** Nodes born now (a gauge). */
  online: number
  nodeBirths: number
  deviceBirths: number
  rebirths: number
  ndata: number
  ddata: number
  /** NDEATH published by iotd itself (a host going offline, the end of a run); wills sent by the broker are not seen here. */
  nodeDeaths: number
  deviceDeaths: number
  commands: number
  writes: number
  /** Command metrics refused (unknown, not writable, wrong type), each logged once per kind. */
  refusedWrites: number
  /** Samples taken while the node was not born (host offline, reconnecting): not published live. */
  held: number
  /** Held samples sent after the next birth as historical data (storeAndForward). */
  forwarded: number
  /** Held samples the store could not keep (storeAndForward.max reached), oldest first, or still stored at the end. */
  storeDropped: number
  /** Every message the edge nodes published (births, data, deaths, forwarded historical data). */
  published: number
  /** NDEATHs (QoS 1) the broker acknowledged; births and data go at QoS 0, as the specification asks. */
  acked: number
  /** Messages that reached the broker: QoS 0 ones once written, NDEATHs once acknowledged. */
  delivered: number
  bytes: number
  /** Edge nodes whose MQTT session is up now (a gauge); at the end of a run, as it stopped. */
  connected: number
  /** MQTT sessions the edge nodes opened (CONNACKs): 0 says the nodes never reached the broker. */
  sessions: number
  /** Sessions after a node's first: after a lost connection, or the new session a primary host going offline asks for. */
  reconnects: number
  disconnects: number
  /** NCMD/DCMD messages that changed something (a write or a rebirth), that changed nothing and refused some metric (or were no Sparkplug payload), and that asked for nothing. */
  commandsApplied: number
  commandsFailed: number
  commandsIgnored: number
  errors: number
}

/**
 * A Sparkplug group's counters as a row of the run's fleet table, so its messages count in the run's totals as any
 * fleet's do: each edge node's MQTT session is a connection (target: the nodes), every message the nodes publish is
 * published (and its bytes), NDEATH acknowledgements are acked, NCMD/DCMD are commands received (applied, failed,
 * ignored). Held samples are not messages (a sample makes an NDATA and a DDATA per device whose metrics moved), so
 * they stay in the group's own counters.
 */
export function sparkplugFleetRow(c: SparkplugCounters): FleetCounters {
  return {
    ...emptyCounters(c.name),
    target: c.nodes,
    connected: c.connected,
    published: c.published,
    acked: c.acked,
    bytes: c.bytes,
    errors: c.errors,
    disconnects: c.disconnects,
    reconnects: c.reconnects,
    commandsReceived: c.commands,
    commandsApplied: c.commandsApplied,
    commandsFailed: c.commandsFailed,
    commandsIgnored: c.commandsIgnored,
  }
}

export interface SparkplugSimulation {
  readonly nodes: SparkplugEdgeNode[]
  counters(): SparkplugCounters[]
  /** Ends every session (DDEATHs and NDEATH first); a second call waits for the first. */
  stop(): Promise<void>
}

export interface SparkplugSimulationOptions {
  scenario: Scenario
  brokerUrl: string
  /** Injected clock (epoch ms) for tests; default Date.now. */
  now?: () => number
  onLog?(message: string, level: 'info' | 'warn' | 'error'): void
}

interface NodeRuntime {
  node: SparkplugEdgeNode
  config: SparkplugGroupConfig
  counters: SparkplugCounters
  client?: MqttClient
  connected: boolean
  /** The primary host's last STATE said online (true when the group names no primary host). */
  hostOnline: boolean
  attempt: number
  /** Sessions this node opened (CONNACKs). */
  sessions: number
  reconnectTimer?: NodeJS.Timeout
  sampleTimer?: NodeJS.Timeout
  n: number
}

export function expandSparkplugNodes(scenario: Scenario): Array<{config: SparkplugGroupConfig; node: SparkplugEdgeNode}> {
  return scenario.sparkplug.flatMap((config) => Array.from({length: config.nodes}, (_, i) => ({config, node: new SparkplugEdgeNode(config, i, scenario.seed)})))
}

export function startSparkplugSimulation(options: SparkplugSimulationOptions): SparkplugSimulation {
  const {scenario} = options
  const now = options.now ?? Date.now
  const b = scenario.broker
  const endpoint: Omit<ClientOptions, 'clientId'> = {
    url: options.brokerUrl,
    protocol: b.protocol,
    username: b.username,
    password: b.password,
    keepaliveSec: Math.round(b.keepalive / 1000),
    tls: b.tls,
    connectTimeoutMs: scenario.connect.timeout,
  }
  const backoff: BackoffOptions = {initialMs: scenario.reconnect.initial, maxMs: scenario.reconnect.max, multiplier: scenario.reconnect.multiplier, jitter: scenario.reconnect.jitter}
  const counters = new Map(
    scenario.sparkplug.map((g) => [
      g.name,
      {name: g.name, group: g.group, nodes: g.nodes, devices: g.nodes * g.devices, online: 0, nodeBirths: 0, deviceBirths: 0, rebirths: 0, ndata: 0, ddata: 0, nodeDeaths: 0, deviceDeaths: 0, commands: 0, writes: 0, refusedWrites: 0, held: 0, forwarded: 0, storeDropped: 0, published: 0, acked: 0, delivered: 0, bytes: 0, connected: 0, sessions: 0, reconnects: 0, disconnects: 0, commandsApplied: 0, commandsFailed: 0, commandsIgnored: 0, errors: 0} satisfies SparkplugCounters,
    ]),
  )
  let stopping = false
  const logged = new Set<string>()
  const logOnce = (key: string, message: string, level: 'info' | 'warn' | 'error') => {
    if (logged.has(key)) return
    logged.add(key)
    options.onLog?.(message, level)
  }

  const publish = (rt: NodeRuntime, messages: OutgoingMessage[]) => {
    const c = rt.counters
    for (const m of messages) {
      if (!rt.client || !rt.connected) return
      // Births and data at QoS 0, as the specification asks; NDEATH at QoS 1 like the will it stands in for.
      const qos = m.type === 'NDEATH' ? 1 : 0
      rt.client.publish(m.topic, m.payload, {qos, retain: false}, (err) => {
        if (qos === 0 || err) return
        c.acked++
        c.delivered++
      })
      c.published++
      if (qos === 0) c.delivered++
      c.bytes += m.payload.length
      switch (m.type) {
        case 'NBIRTH':
          c.nodeBirths++
          break
        case 'DBIRTH':
          c.deviceBirths++
          break
        case 'NDATA':
          c.ndata++
          break
        case 'DDATA':
          c.ddata++
          break
        case 'DDEATH':
          c.deviceDeaths++
          break
        case 'NDEATH':
          c.nodeDeaths++
          break
      }
    }
  }

  const birth = (rt: NodeRuntime) => {
    if (!rt.connected || !rt.hostOnline || stopping) return
    const wasBorn = rt.node.born
    publish(rt, rt.node.birth(now()))
    if (!wasBorn) rt.counters.online++
    const stored = rt.node.forward()
    publish(rt, stored.messages)
    rt.counters.forwarded += stored.samples
  }

  const disconnected = (rt: NodeRuntime) => {
    if (rt.connected) rt.counters.connected--
    rt.connected = false
  }

  const unborn = (rt: NodeRuntime) => {
    if (rt.node.born) rt.counters.online--
    rt.node.born = false
  }

  const connect = (rt: NodeRuntime) => {
    if (stopping) return
    const bdSeq = rt.node.nextSession()
    const death = rt.node.death()
    const node = rt.node
    const client = createMqttClient({
      ...endpoint,
      clientId: `${node.group}-${node.nodeId}`.slice(0, 256),
      clean: true,
      will: {topic: death.topic, payload: death.payload, qos: 1, retain: false},
    })
    rt.client = client
    const subscriptions = [sparkplugTopic(node.group, 'NCMD', node.nodeId), `${sparkplugTopic(node.group, 'DCMD', node.nodeId)}/+`]
    if (rt.config.primaryHost !== undefined) subscriptions.push(stateTopic(rt.config.primaryHost))
    client.on('connect', () => {
      if (!rt.connected) rt.counters.connected++
      rt.connected = true
      rt.attempt = 0
      if (rt.sessions++ > 0) rt.counters.reconnects++
      rt.counters.sessions++
      // The host's retained STATE arrives after the SUBACK; until it says online, a node with a primary host waits.
      rt.hostOnline = rt.config.primaryHost === undefined
      client.subscribe(subscriptions, {qos: 1}, (err) => {
        if (err) {
          rt.counters.errors++
          logOnce(`sub-${rt.config.name}`, `sparkplug ${node.group}/${node.nodeId}: subscribe failed (${err.message})`, 'warn')
          return
        }
        if (client === rt.client && bdSeq === node.bdSeq) birth(rt)
      })
    })
    client.on('message', (topic, payload) => onMessage(rt, topic, payload))
    client.on('error', (err) => {
      rt.counters.errors++
      logOnce(`err-${rt.config.name}`, `sparkplug ${node.group}/${node.nodeId}: ${err.message}`, 'warn')
    })
    client.on('close', () => {
      if (client !== rt.client) return
      const wasConnected = rt.connected
      disconnected(rt)
      unborn(rt)
      if (stopping) return
      if (wasConnected) rt.counters.disconnects++
      client.removeAllListeners()
      client.on('error', () => {})
      client.end(true)
      rt.client = undefined
      // A new session: a new client, so the will carries the next bdSeq.
      rt.reconnectTimer = setTimeout(() => connect(rt), backoffDelay(rt.attempt++, backoff, Math.random))
    })
  }

  const onMessage = (rt: NodeRuntime, topic: string, payload: Buffer) => {
    const t = parseSparkplugTopic(topic)
    if (!t) return
    if (t.kind === 'state') {
      const state = parseStatePayload(payload)
      if (!state) {
        logOnce(`state-${t.host}`, `sparkplug: STATE of ${t.host} is not {"online": bool, "timestamp": ms}; ignored`, 'warn')
        return
      }
      rt.hostOnline = state.online
      if (state.online && !rt.node.born) birth(rt)
      else if (!state.online && rt.node.born) hostWentOffline(rt)
      return
    }
    if (t.type !== 'NCMD' && t.type !== 'DCMD') return
    rt.counters.commands++
    let metrics
    try {
      metrics = decodePayload(payload).metrics
    } catch (error) {
      rt.counters.refusedWrites++
      rt.counters.commandsFailed++
      logOnce(`cmd-decode`, `sparkplug ${topic}: not a Sparkplug B payload (${(error as Error).message}); ignored`, 'warn')
      return
    }
    const result = rt.node.command(t.device, metrics)
    rt.counters.writes += result.writes
    rt.counters.refusedWrites += result.refused.length
    for (const r of result.refused) logOnce(`refused-${rt.config.name}-${r}`, `sparkplug ${topic}: ${r}; refused`, 'warn')
    if (result.writes > 0 || result.rebirth) rt.counters.commandsApplied++
    else if (result.refused.length > 0) rt.counters.commandsFailed++
    else rt.counters.commandsIgnored++
    if (result.rebirth && rt.node.born) {
      rt.counters.rebirths++
      publish(rt, rt.node.birth(now()))
    }
  }

  /** Sparkplug 3.0: a node whose primary host goes offline ends its session (NDEATH, disconnect) and waits. */
  const hostWentOffline = (rt: NodeRuntime) => {
    const client = rt.client
    if (!client) return
    publish(rt, [rt.node.death(now())])
    unborn(rt)
    rt.client = undefined
    disconnected(rt)
    client.removeAllListeners('close')
    client.end(false, {}, () => {
      client.removeAllListeners()
      connect(rt)
    })
  }

  const sample = (rt: NodeRuntime, start: number) => {
    if (stopping) return
    const due = start + rt.node.phaseMs + rt.n * rt.config.every
    rt.n++
    rt.node.step(due)
    if (rt.node.born && rt.connected) publish(rt, rt.node.data(due))
    else {
      rt.counters.held++
      const dropped = rt.node.storeDropped
      rt.node.hold(due)
      rt.counters.storeDropped += rt.node.storeDropped - dropped
    }
    const next = start + rt.node.phaseMs + rt.n * rt.config.every
    rt.sampleTimer = setTimeout(() => sample(rt, start), Math.max(0, next - now()))
  }

  const runtimes: NodeRuntime[] = expandSparkplugNodes(scenario).map(({config, node}) => ({
    node,
    config,
    counters: counters.get(config.name) as SparkplugCounters,
    connected: false,
    hostOnline: config.primaryHost === undefined,
    attempt: 0,
    sessions: 0,
    n: 0,
  }))
  const start = now()
  for (const rt of runtimes) {
    // Sample 0 at once, so the first birth carries generated values.
    rt.node.step(start)
    rt.n = 1
    rt.sampleTimer = setTimeout(() => sample(rt, start), Math.max(0, start + rt.node.phaseMs + rt.config.every - now()))
    connect(rt)
  }

  let stopped: Promise<void> | undefined
  const stop = () => (stopped ??= stopAll())
  const stopAll = async () => {
    stopping = true
    await Promise.all(
      runtimes.map(
        (rt) =>
          new Promise<void>((resolve) => {
            clearTimeout(rt.sampleTimer)
            clearTimeout(rt.reconnectTimer)
            // Samples still in the store when the run ends were never sent: count them with the dropped ones.
            rt.counters.storeDropped += rt.node.storedSamples
            const client = rt.client
            if (!client) return resolve()
            if (rt.connected && rt.node.born) {
              const ts = now()
              publish(rt, rt.node.deviceDeaths(ts))
              publish(rt, [rt.node.death(ts)])
              unborn(rt)
            }
            const force = setTimeout(() => {
              client.end(true)
              resolve()
            }, 2000)
            client.removeAllListeners('close')
            client.end(false, {}, () => {
              clearTimeout(force)
              resolve()
            })
          }),
      ),
    )
  }

  return {
    nodes: runtimes.map((r) => r.node),
    counters: () => [...counters.values()].map((c) => ({...c})),
    stop,
  }
}
