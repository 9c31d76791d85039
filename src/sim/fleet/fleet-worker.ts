import {performance} from 'node:perf_hooks'
import {LoopDelay} from '../../metrics/loop-delay.js'
import type {MqttClient} from 'mqtt'
import {backoffDelay, createMqttClient, assignSourceAddress, type BackoffOptions, type ClientOptions} from '../../net/index.js'
import {encodeQos0Publishes, type Qos0Message} from '../../net/qos0-publish.js'
import {topicMatches} from '../../net/topic-filter.js'
import {createHistogram, encodeHistogram, recordMicros, type LatencyHistogram} from '../../metrics/histogram.js'
import {createDeviceModel, createRng, dueSchedule, type DeviceModel} from '../generators/index.js'
import type {Scenario} from '../scenario/index.js'
import {emptyCounters, type AnomalyLabel, type DeviceSpec, type FleetCounters, type Qos} from '../types.js'
import {DueQueue} from './due-queue.js'
import {DeviceCommands, FleetCommands, type DeviceHost} from '../commands/device-commands.js'
import {DeviceBehavior, loadBehaviorModule, type BehaviorModule} from '../commands/behavior.js'
import {toMqttProperties, type MqttPublishProperties} from '../commands/publish-properties.js'
import type {FromWorker, StageCommand, WorkerSetup, WorkerStats} from './protocol.js'

/**
 * Runs one shard of the fleet: connects its devices (ramps, storms, reconnects with backoff and jitter), and
 * publishes every device's messages on one drift-free schedule (device k's n-th message is due at
 * start_k + dueOffset(n)). Lateness is measured against the due time and counted, never hidden.
 *
 * It talks to the main thread only through `post`, so it can be tested in-process without a worker thread.
 */

interface Device {
  /** Position in this worker's device list (the id in the due queue). */
  id: number
  spec: DeviceSpec
  /** The telemetry publish options, built once (MQTT.js copies them; nothing is allocated for them per message). */
  publishOptions: {qos: Qos; retain: boolean; properties?: MqttPublishProperties}
  /** The device's command runtime, only in fleets with `commands:` or `twin:`. */
  commands?: DeviceCommands
  /** The device's side of the fleet's behaviour module, only in fleets with `behavior:`. */
  behavior?: DeviceBehavior
  rebootTimer?: NodeJS.Timeout
  /**
   * Down for a commanded reboot: not wanted connected, yet its schedule runs on, so what falls due meanwhile is
   * counted as for a lost connection (QoS 0 dropped, QoS 1/2 to the offline queue) rather than never falling due.
   */
  rebooting?: boolean
  /**
   * QoS 1/2 messages the device's commands or behaviour module sent that the broker has not acknowledged yet, each
   * by its settle function (called once: true on the acknowledgement, false when its connection is given up).
   */
  unackedReplies?: Set<(reached: boolean) => void>
  /** Called when unackedReplies becomes empty (a reboot with will waits for it). */
  repliesAcked?: () => void
  /** Built at the device's first message: a fleet of rarely reporting devices does not hold every model at once. */
  model?: DeviceModel
  /** dueOffsetMs of this device (generators/schedule.ts), made at its first use. */
  dueOffset?: (n: number) => number
  counters: FleetCounters
  client?: MqttClient
  /** The worker wants this device connected (ramps decide); false while ramped down or stopping. */
  wanted: boolean
  connected: boolean
  everConnected: boolean
  /** The last close was not asked for (broker gone, storm): the next CONNACK is a reconnect. */
  lost: boolean
  connectStartedAt: number
  reconnectAttempt: number
  reconnectTimer?: NodeJS.Timeout
  /** Monotonic time of the first CONNACK: the origin of this device's schedule. */
  scheduleStart: number
  /** A connect of the ramp waits for its CONNACK (or its close): it holds one of the worker's pending places. */
  handshaking?: boolean
  /** Index of the next message. */
  n: number
  scheduled: boolean
  inflight: number
  /** Payloads waiting for an in-flight slot (QoS 1/2 cap), with their due times. */
  backlog: Array<{payload: string; due: number}>
  /**
   * QoS 0 telemetry is written straight to the socket as encoded PUBLISH frames (net/qos0-publish.ts), not through
   * MQTT.js: from the CONNACK on, or once the birth message went out when there is one (it must come first).
   */
  direct: boolean
  /** Counts connections, so a late birth callback of an earlier connection does not switch this one. */
  connection: number
  /**
   * MQTT 5, more than one command filter: filter i was subscribed with subscription identifier i + 1, so of the copies
   * a broker delivers for overlapping filters the device keeps one (firstCopy).
   */
  subscribedFilters?: string[]
  /** This turn's direct messages and their due times, written in one piece at the end of the turn. */
  pending?: Qos0Message[]
  pendingDue?: number[]
}

/** How often the worker looks at its event-loop utilization to switch pairing on or off. */
const PAIRING_CHECK_MS = 1000
/**
 * Pairing: a busy worker writes each fast QoS 0 device's messages two at a time, the first waiting for the second
 * (each keeps its own due time: timestamp and lag).
 * A socket write costs about 9 µs of client CPU on 2 vCPUs (the kernel's whole loopback path runs inside it) whatever
 * it carries; at 1,000 × 100 msg/s the writes took about half the worker's time (perf/RESULTS.md, issue #14). Only devices that report at least every PAIRING_MAX_EVERY_MS pair, so a message waits
 * at most that long (and its lag says so); devices with commands or a behaviour module do not, so no message is ever
 * generated after a command that arrived past its due time. On above ON, off below OFF of the worker's event-loop
 * utilization over PAIRING_CHECK_MS: pairing itself lowers it, and the gap keeps it from flapping. It is also on, from
 * the ramp that brings them up, while the wanted fast devices' writes alone would keep the worker that busy
 * (WRITE_CPU_SECONDS).
 */
const PAIRING_MAX_EVERY_MS = 10
/** The devices that pair, as the warning names them. */
const FAST_DEVICES = `QoS 0 devices reporting every ${PAIRING_MAX_EVERY_MS} ms or faster`
const PAIRING_ON_UTILIZATION = 0.5
const PAIRING_OFF_UTILIZATION = 0.3
/**
 * The client CPU of one socket write: while the wanted fast devices' writes alone would take more than
 * PAIRING_ON_UTILIZATION of the worker's time, they pair, from the ramp that brings them up. Waiting for the first
 * utilization check left a 100,000 msg/s fleet unpaired through its connect ramp, and that first second set the run's
 * lag p99 (perf/RESULTS.md).
 */
const WRITE_CPU_SECONDS = 9e-6
/** Connects (or disconnects) a turn of the event loop starts at most during a fast ramp. */
const CONNECT_BATCH = 100
/**
 * Time one turn of a ramp spends starting connects at most: creating a client costs a few hundred µs, and a turn of
 * CONNECT_BATCH of them held the connected devices' due messages back by tens of ms (the first second of a fast
 * fleet's lag). The schedule's tick runs between turns. A ramp down is not held to it (see ramp()).
 */
const CONNECT_TURN_MS = 2
/**
 * Direct messages a tick gathers before it writes them, so a tick that fell far behind (a GC pause, a loaded
 * machine) does not hold the first of them back until the last is generated. Large on purpose: a socket write costs
 * 8–15 µs of kernel time whatever it carries, and a worker that falls behind catches up only if its devices' late
 * messages leave together. At 512, a 1,000-device fleet wrote about one message per write and never caught up (41 %
 * of a 100,000 msg/s schedule delivered); at 8,192 the same worker writes several per device and keeps up.
 */
const DIRECT_FLUSH_EVERY = 8192
/** Messages one turn of the schedule publishes at most before the worker reads its sockets again. */
const MAX_PER_TURN = 20_000
/**
 * Bytes of QoS 0 telemetry a device's socket may hold beyond what the kernel took (a broker that stopped reading:
 * the kernel's own buffer is full by then). Past it, messages are dropped and counted, so a stalled broker cannot
 * grow the worker's memory without bound.
 */
export const DIRECT_BUFFER_LIMIT = 64 * 1024

/**
 * Whether this copy of a command is the one to handle: of the copies an MQTT 5 broker sends for overlapping filters,
 * the one of the first filter (in subscription order) that matches. Without identifiers there is one copy.
 */
export function firstCopy(filters: readonly string[] | undefined, topic: string, ids: number | number[] | undefined): boolean {
  if (!filters || ids === undefined) return true
  const got = typeof ids === 'number' ? ids : Math.min(...ids)
  return got === filters.findIndex((f) => topicMatches(f, topic)) + 1
}

/** The command runtime's timers: plain timeouts in the worker's event loop. */
const commandTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms)
  return {cancel: () => clearTimeout(t)}
}

export class FleetWorker {
  private readonly setup: WorkerSetup
  private readonly post: (msg: FromWorker) => void
  private readonly devices: Device[]
  private readonly fleetCounters = new Map<string, FleetCounters>()
  private readonly fleetCommands = new Map<string, FleetCommands>()
  private readonly warned = new Set<string>()
  private readonly queue: DueQueue
  private readonly seed: number
  private readonly backoff: BackoffOptions
  private readonly endpoint: Omit<ClientOptions, 'clientId'>
  /** Monotonic time corresponding to the epoch start of the run in this thread. */
  private readonly epochOffset: number
  private tickTimer?: NodeJS.Timeout
  private tickAt = Number.POSITIVE_INFINITY
  private rampTimer?: NodeJS.Timeout
  private rampImmediate?: NodeJS.Immediate
  /** Connects of the ramp waiting for their CONNACK (at most `connect.pending`). */
  private handshakes = 0
  /** Set while a ramp waits for a pending place: called when one frees. */
  private onHandshakeDone?: () => void
  private pairingTimer?: NodeJS.Timeout
  private stopping = false
  private published = 0
  private limitReported = false
  private publishLag: LatencyHistogram
  private ackLatency: LatencyHistogram
  private connectLatency: LatencyHistogram
  private readonly loopDelay = new LoopDelay()
  private allConnectedAtEpochMs?: number
  private everConnectedCount = 0
  private errorsLogged = 0
  /**
   * Command messages that reached a device going down (a commanded reboot, or the run's stop) and were not taken, as
   * an offline device takes none: `again` ones (QoS 1/2 in a persistent session) were left unacknowledged, so the
   * broker delivers them again after the reconnect; `gone` ones (QoS 0, or a clean session) are not.
   */
  private notTaken = {again: 0, gone: 0}
  private storms = 0
  private statsTakenAt = performance.now()
  private backlogWarned = false
  private bufferWarned = false
  private readonly protocolVersion: 4 | 5
  /** Devices with direct messages waiting in this turn, in the order they got their first. */
  private readonly touched: Device[] = []
  private pendingCount = 0
  /** Pairing is on (see PAIRING_MAX_EVERY_MS): by the wanted fast devices' rate, or by the event-loop utilization. */
  private pairing = false
  private pairingAnnounced = false
  private utilizationMark = performance.eventLoopUtilization()

  constructor(setup: WorkerSetup, post: (msg: FromWorker) => void) {
    this.setup = setup
    this.post = post
    const scenario: Scenario = setup.scenario
    this.seed = scenario.seed
    this.epochOffset = performance.timeOrigin
    this.backoff = {
      initialMs: scenario.reconnect.initial,
      maxMs: scenario.reconnect.max,
      multiplier: scenario.reconnect.multiplier,
      jitter: scenario.reconnect.jitter,
    }
    const broker = scenario.broker
    this.protocolVersion = broker.protocol === '5' ? 5 : 4
    this.endpoint = {
      url: setup.brokerUrl,
      protocol: broker.protocol,
      username: broker.username,
      password: broker.password,
      keepaliveSec: Math.round(broker.keepalive / 1000),
      tls: broker.tls,
      connectTimeoutMs: scenario.connect.timeout,
    }
    this.queue = new DueQueue(Math.max(16, setup.devices.length))
    this.devices = setup.devices.map((spec, id) => {
      let counters = this.fleetCounters.get(spec.fleet)
      if (!counters) {
        counters = emptyCounters(spec.fleet)
        this.fleetCounters.set(spec.fleet, counters)
      }
      counters.target++
      const properties = toMqttProperties(spec.properties)
      return {
        id,
        spec,
        publishOptions: properties ? {qos: spec.qos, retain: spec.retain, properties} : {qos: spec.qos, retain: spec.retain},
        counters,
        wanted: false,
        connected: false,
        everConnected: false,
        lost: false,
        connectStartedAt: 0,
        reconnectAttempt: 0,
        scheduleStart: 0,
        n: 0,
        scheduled: false,
        inflight: 0,
        backlog: [],
        direct: false,
        connection: 0,
      }
    })
    const behaviors = new Map<string, BehaviorModule>()
    for (const fleet of scenario.fleets) {
      if (fleet.commands || fleet.twin) this.fleetCommands.set(fleet.name, new FleetCommands(fleet))
      // The user's module, loaded once per worker (a throw here is the worker's fatal error, with the file named).
      if (fleet.behavior) behaviors.set(fleet.name, loadBehaviorModule(fleet.behavior))
    }
    for (const d of this.devices) {
      const fleet = this.fleetCommands.get(d.spec.fleet)
      const behavior = behaviors.get(d.spec.fleet)
      if (!fleet && !behavior) continue
      const host = this.commandHost(d)
      // A fleet that takes commands counts those it does not take (0 in its summary when none).
      if (fleet || behavior) d.counters.commandsNotTaken ??= 0
      if (fleet) d.commands = new DeviceCommands(fleet, host, d.counters, createRng([this.seed, d.spec.fleet, d.spec.index, 'commands']), commandTimer)
      if (behavior) d.behavior = new DeviceBehavior(behavior, host, d.counters)
    }
    this.publishLag = createHistogram()
    this.ackLatency = createHistogram()
    this.connectLatency = createHistogram()
  }

  start(): void {
    if (this.setup.messageLimit === 0) this.reachLimit()
    this.loopDelay.start()
    // Counters go to the main thread when it asks (report()); this timer only follows how busy the worker is.
    this.pairingTimer = setInterval(() => this.updatePairing(), PAIRING_CHECK_MS)
    this.post({type: 'ready'})
  }

  /** Sends the counters and histograms gathered since the last report: the main thread asks once a second. */
  report(round: number): void {
    if (this.stopping) return
    this.post({type: 'stats', stats: {...this.takeStats(), round}})
  }

  /** Applies a stage command from the main thread. */
  stage(cmd: StageCommand): void {
    if (this.stopping) return
    if (cmd.kind === 'ramp') this.ramp(cmd.toShare, cmd.overMs)
    else this.storm(cmd.dropShare)
  }

  /** Stops publishing, sends death messages, disconnects cleanly (waiting up to drainMs for acks), posts done. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true
    clearTimeout(this.tickTimer)
    if (this.pairingAnnounced) this.publishHeld(performance.now())
    this.countOverdue(performance.now())
    this.clearRampTimer()
    clearInterval(this.pairingTimer)
    const connectedAtStop = Object.fromEntries([...this.fleetCounters.values()].map((c) => [c.fleet, c.connected]))
    const closing: Array<Promise<void>> = []
    let cutOff = 0
    for (const d of this.devices) {
      clearTimeout(d.reconnectTimer)
      clearTimeout(d.rebootTimer)
      if (d.commands) cutOff += d.commands.stop()
      // Command-started anomalies still running: their labels were held until their end was known.
      if (d.model && (d.commands || d.behavior)) {
        const open = d.model.closeAnomalies()
        if (open.length > 0) this.postLabels(open)
      }
      d.wanted = false
      // Messages still waiting for an in-flight slot or a connection are not sent: count them, do not hide them.
      d.counters.dropped += d.backlog.length
      d.counters.unsent = (d.counters.unsent ?? 0) + d.backlog.length
      d.backlog.length = 0
      if (d.client) closing.push(this.disconnect(d, drainMs))
    }
    if (cutOff > 0) this.post({type: 'log', level: 'warn', message: `${cutOff} ${cutOff === 1 ? 'command was' : 'commands were'} still waiting for ${cutOff === 1 ? 'its' : 'their'} latency when the run stopped (counted as failed)`})
    await Promise.all(closing)
    this.sayNotTaken()
    this.loopDelay.stop()
    this.post({type: 'done', stats: {...this.takeStats(), connectedAtStop}})
  }

  // --- connections -------------------------------------------------------------------------------------------

  private ramp(toShare: number, overMs: number): void {
    this.clearRampTimer()
    const target = Math.round(toShare * this.devices.length)
    const wanted = this.devices.filter((d) => d.wanted).length
    if (target === wanted) return
    const goingUp = target > wanted
    // Devices are brought up in index order and taken down from the end, so a ramp is reproducible.
    const todo = goingUp
      ? this.devices.filter((d) => !d.wanted).slice(0, target - wanted)
      : this.devices.filter((d) => d.wanted).slice(target - wanted).reverse()
    if (goingUp) {
      const rate = this.pairableRate(this.devices.filter((d) => d.wanted).concat(todo))
      if (rate * WRITE_CPU_SECONDS > PAIRING_ON_UTILIZATION) {
        this.switchPairingOn(`its ${FAST_DEVICES} send ${Math.round(rate).toLocaleString('en-US')} msg/s, more than it writes one at a time, so they`)
      }
    }
    const began = performance.now()
    let done = 0
    const step = () => {
      const elapsed = performance.now() - began
      const due = overMs <= 0 ? todo.length : Math.min(todo.length, Math.floor((elapsed / overMs) * todo.length) + 1)
      // At most CONNECT_BATCH per turn of the event loop: CONNACKs get handled between batches, which connects a
      // large fleet about 3x faster than opening every socket in one synchronous loop (perf/RESULTS.md).
      // And no more waiting for their CONNACK than `connect.pending`: a burst past the broker's accept queue (mosquitto
      // listens with a backlog of 100) has its surplus SYNs dropped, and the kernel sends them again only after 1 s.
      const room = goingUp ? Math.max(0, this.setup.scenario.connect.pending - this.handshakes) : CONNECT_BATCH
      const until = Math.min(due, done + CONNECT_BATCH, done + room)
      // Only connects are held to the time budget: a ramp-down's DISCONNECTs are cheap, and its devices leave together.
      const turnStarted = performance.now()
      const turnEnds = goingUp ? turnStarted + CONNECT_TURN_MS : Number.POSITIVE_INFINITY
      for (let first = true; done < until && !this.stopping && (first || performance.now() < turnEnds); done++, first = false) {
        const d = todo[done]
        if (goingUp) {
          this.connect(d)
        } else {
          this.publishDueBeforeLeaving(d, turnStarted)
          void this.disconnect(d, 1000)
        }
      }
      if (done >= todo.length || this.stopping) return
      if (done < due && room === 0) {
        this.onHandshakeDone = () => {
          this.onHandshakeDone = undefined
          this.rampImmediate = setImmediate(step)
        }
      } else if (done < due) {
        this.rampImmediate = setImmediate(step)
      } else {
        const nextAt = (done / todo.length) * overMs
        this.rampTimer = setTimeout(step, Math.max(1, nextAt - elapsed))
      }
    }
    step()
  }

  private clearRampTimer(): void {
    this.onHandshakeDone = undefined
    clearTimeout(this.rampTimer)
    clearImmediate(this.rampImmediate)
  }

  /** Destroys the sockets of a share of connected devices without DISCONNECT, so the broker sends their LWTs. */
  private storm(dropShare: number): void {
    const connected = this.devices.filter((d) => d.connected)
    const count = Math.round(dropShare * connected.length)
    // Partial Fisher–Yates: a uniform choice of `count` devices, seeded so the same scenario storms the same devices.
    const rng = createRng([this.seed, 'storm', this.setup.workerId, this.storms++])
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(connected.length - i)
      ;[connected[i], connected[j]] = [connected[j], connected[i]]
      connected[i].client?.stream.destroy()
    }
    if (count > 0) this.post({type: 'log', level: 'info', message: `storm: dropped ${count} connections in worker ${this.setup.workerId}`})
  }

  private connect(d: Device): void {
    d.wanted = true
    d.connectStartedAt = performance.now()
    if (!d.handshaking) {
      d.handshaking = true
      this.handshakes++
    }
    if (d.client) {
      this.reconnect(d)
      return
    }
    const spec = d.spec
    const client = createMqttClient({
      ...this.endpoint,
      clientId: spec.clientId,
      clean: spec.cleanSession,
      sessionExpirySec: spec.sessionExpiryMs === undefined ? undefined : Math.round(spec.sessionExpiryMs / 1000),
      will: spec.lwt ? {topic: spec.lwt.topic, payload: spec.lwt.payload, qos: spec.lwt.qos, retain: spec.lwt.retain} : undefined,
      sourceAddress: assignSourceAddress(this.setup.firstOrdinal + d.id, this.setup.sourceAddresses),
      topicAliases: spec.properties?.topicAlias,
    })
    d.client = client
    if (d.commands || d.behavior) {
      // A device going down takes no command: handleMessage (MQTT.js's hook between a message and its
      // acknowledgement) fails for it, so a QoS 1 one is left unacknowledged for a persistent session to deliver again.
      client.handleMessage = (packet, callback) => callback(this.goingDown(d) ? new Error('the device is going down') : undefined)
      client.on('message', (topic, payload, packet) => {
        if (this.goingDown(d)) {
          // Received and not taken, so the fleet's figures add up: received = applied + failed + ignored + not taken.
          d.counters.commandsReceived++
          d.counters.commandsNotTaken = (d.counters.commandsNotTaken ?? 0) + 1
          if (packet.qos > 0 && !d.spec.cleanSession) this.notTaken.again++
          else this.notTaken.gone++
          return
        }
        const p = packet.properties
        if (!firstCopy(d.subscribedFilters, topic, p?.subscriptionIdentifier)) return
        const request = p ? {responseTopic: p.responseTopic, correlationData: p.correlationData} : undefined
        // The rules (and the twin) first; the behaviour module's onMessage gets what no rule took.
        const behavior = d.behavior
        const toBehavior = behavior ? () => behavior.receive(topic, payload, request) : undefined
        if (d.commands) d.commands.receive(topic, payload, request, toBehavior)
        else toBehavior?.()
      })
    }
    client.on('connect', (connack) => this.onConnect(d, connack?.properties?.subscriptionIdentifiersAvailable !== false))
    client.on('close', () => this.onClose(d))
    client.on('error', (err) => this.onError(d, err))
  }

  /** A ramp's connect got its CONNACK or its connection closed: its pending place frees, a held ramp goes on. */
  private handshakeDone(d: Device): void {
    if (!d.handshaking) return
    d.handshaking = false
    this.handshakes--
    this.onHandshakeDone?.()
  }

  /** `subscriptionIds`: the broker takes subscription identifiers (MQTT 5 CONNACK; absent means it does). */
  private onConnect(d: Device, subscriptionIds = true): void {
    this.handshakeDone(d)
    const now = performance.now()
    recordMicros(this.connectLatency, (now - d.connectStartedAt) * 1000)
    d.connected = true
    d.reconnectAttempt = 0
    d.counters.connected++
    if (d.lost) {
      // Only a connection that was lost counts as a reconnect; coming back after a ramp-down does not.
      d.lost = false
      d.counters.reconnects++
    }
    if (!d.everConnected) {
      d.everConnected = true
      this.everConnectedCount++
      if (this.everConnectedCount === this.devices.length) this.allConnectedAtEpochMs = this.epochOffset + now
    }
    // Subscribed before the birth: the broker handles a connection's packets in order, so whoever sees the birth
    // can already command the device.
    if (d.commands || d.behavior) this.subscribeCommands(d, subscriptionIds)
    const connection = ++d.connection
    d.direct = false
    const birth = d.spec.birth
    // Messages with MQTT 5 properties, or whose topics MQTT.js replaces by aliases, keep going through MQTT.js.
    const direct = this.goesDirect(d)
    if (birth) {
      // MQTT.js may hold the birth back a moment (it first resends what its stores kept): telemetry written past it
      // would overtake it, so the direct path opens once the birth is out; until then MQTT.js sends in order.
      const opened = direct ? (err?: Error) => (d.direct = !err && d.connected && d.connection === connection) : undefined
      d.client?.publish(birth.topic, birth.payload, {qos: birth.qos, retain: birth.retain}, opened)
    } else {
      d.direct = direct
    }
    if (!d.scheduled && !this.limitReported) {
      // The schedule starts at the first connect and keeps its phase across reconnects (drift free). A device
      // that was ramped down resumes one phase after it comes back instead of replaying the time it was away.
      d.scheduleStart = d.n === 0 ? now : now + d.spec.phaseMs - this.dueOffset(d, d.n)
      d.scheduled = true
      this.schedule(d)
    }
    this.flushBacklog(d)
  }

  // --- commands ----------------------------------------------------------------------------------------------

  /** Subscribes after every connect (a clean session forgets subscriptions; a persistent one takes it as a no-op). */
  private subscribeCommands(d: Device, subscriptionIds: boolean): void {
    const client = d.client
    if (!client) return
    // The rules' and the behaviour's filters, each once at the highest QoS asked for it.
    const byTopic = new Map<string, Qos>()
    for (const s of [...(d.commands?.subscriptions() ?? []), ...(d.behavior?.subscriptions() ?? [])]) byTopic.set(s.topic, Math.max(byTopic.get(s.topic) ?? 0, s.qos) as Qos)
    const subs = [...byTopic]
    if (subs.length === 0) return
    const oneByOne = this.protocolVersion === 5 && subscriptionIds && subs.length > 1
    let refused = 0
    let error: Error | undefined
    let answers = 0
    const answered = (err: Error | null, granted: Array<{qos: number}> | undefined, asked: number) => {
      if (err) error ??= err
      refused += err ? asked : (granted ?? []).filter((g) => g.qos === 128).length
      if (++answers < (oneByOne ? subs.length : 1) || refused === 0) return
      d.counters.errors++
      this.warnOnce('subscribe', `${d.spec.clientId}: the broker refused ${refused} of ${subs.length} command subscriptions${error ? ` (${error.message})` : ''}`)
    }
    if (oneByOne) {
      // An MQTT 5 broker may deliver a message once per matching subscription (mosquitto does): filters that overlap
      // would make one command react twice. One SUBSCRIBE per filter, each with its identifier, lets firstCopy keep one.
      d.subscribedFilters = subs.map(([topic]) => topic)
      subs.forEach(([topic, qos], i) => client.subscribe(topic, {qos, properties: {subscriptionIdentifier: i + 1}}, (err, granted) => answered(err, granted, 1)))
    } else {
      d.subscribedFilters = undefined
      client.subscribe(Object.fromEntries(subs.map(([topic, qos]) => [topic, {qos}])), (err, granted) => answered(err, granted, subs.length))
    }
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return
    this.warned.add(key)
    this.post({type: 'log', level: 'warn', message})
  }

  private model(d: Device): DeviceModel {
    d.model ??= createDeviceModel(this.setup.scenario, d.spec)
    return d.model
  }

  /** What a device's commands act on: its model, its client, its connection. */
  private commandHost(d: Device): DeviceHost {
    return {
      deviceId: d.spec.deviceId,
      vars: d.spec.vars,
      hold: (field, value) => this.model(d).hold(field, value),
      release: (field) => this.model(d).release(field),
      setMode: (mode, forMs) => this.model(d).setMode(mode, {atMs: this.nowEpochMs(), forMs}),
      startAnomaly: (name, command) => this.model(d).startAnomaly(name, command),
      stopAnomaly: (name) => this.model(d).stopAnomaly(name, this.nowEpochMs()),
      value: (field) => this.model(d).value(field, this.firstDueEpochMs(d)),
      current: (field) => this.model(d).current(field, this.firstDueEpochMs(d)),
      publish: (topic, payload, qos, retain, properties, correlationData, settled) => {
        // Down from the moment a reboot (or the run's stop) begins, not only once the socket closed: MQTT.js refuses a
        // publish on a client that is disconnecting, and would say so as a client error.
        const client = d.client
        if (!d.connected || !client || this.goingDown(d) || client.disconnecting) return false
        const props = toMqttProperties(properties, correlationData)
        const options = props ? {qos, retain, properties: props} : {qos, retain}
        if (qos === 0) {
          // Written to the connection (its callback waits for a drain when the socket buffer is full; only a
          // synchronous error means it was not).
          let failed = false
          let sync = true
          client.publish(topic, payload, options, (err) => {
            if (sync && err) failed = true
          })
          sync = false
          settled?.(!failed)
          return true
        }
        const unacked = (d.unackedReplies ??= new Set())
        let done = false
        const settle = (reached: boolean) => {
          if (done) return
          done = true
          unacked.delete(settle)
          settled?.(reached)
          if (unacked.size === 0) d.repliesAcked?.()
        }
        unacked.add(settle)
        client.publish(topic, payload, options, (err) => settle(!err))
        return true
      },
      reboot: (afterMs, will) => this.reboot(d, afterMs, will),
      warn: (message) => this.warnOnce(message, `${d.spec.clientId}: ${message}`),
    }
  }

  /** A commanded reboot or the run's stop has begun: the device takes no command and sends no reply. */
  private goingDown(d: Device): boolean {
    return d.rebooting === true || this.stopping
  }

  /**
   * Whether the device's telemetry may leave: connected, and not going down for a commanded reboot (its client is
   * closing then, and MQTT.js refuses publishes on it).
   */
  private isUp(d: Device): boolean {
    return d.connected && !d.rebooting
  }

  /**
   * QoS 1/2 replies still unacknowledged on a connection that is given up (its client ended, the device comes back on
   * a fresh one): they are counted as not arrived, so no reply is ever counted twice or left uncounted.
   */
  private giveUpReplies(d: Device): void {
    for (const settle of [...(d.unackedReplies ?? [])]) settle(false)
  }

  /** Says, once at the stop, how many command messages devices going down did not take. */
  private sayNotTaken(): void {
    const {again, gone} = this.notTaken
    const n = again + gone
    if (n === 0) return
    const parts = [
      again > 0 ? `${again} left unacknowledged, which a persistent session delivers again after the reconnect (received again then)` : '',
      gone > 0 ? `${gone} at QoS 0 or in a clean session, which the device never gets` : '',
    ].filter(Boolean)
    this.post({
      type: 'log',
      level: 'warn',
      message: `${n} command ${n === 1 ? 'message' : 'messages'} reached a device going down (a commanded reboot, or the run's stop) and ${n === 1 ? 'was' : 'were'} not taken, as an offline device takes none (counted as received and not taken): ${parts.join('; ')}`,
    })
  }

  /** The timestamp the device's first message carries (a reply before it shows that message's values). */
  private firstDueEpochMs(d: Device): number {
    return d.scheduled ? Math.round(this.epochOffset + d.scheduleStart + this.dueOffset(d, 0)) : this.nowEpochMs()
  }

  /** Now on the clock of message timestamps (epoch ms, whole). */
  private nowEpochMs(): number {
    return Math.round(this.epochOffset + performance.now())
  }

  /**
   * A commanded reboot: the device goes away (DISCONNECT, or with `will` a dropped socket so the broker publishes
   * its last will) and connects again after the delay. Not a lost connection: no disconnect or reconnect counted. Its
   * messages keep falling due meanwhile and are counted as for a lost connection (Device.rebooting).
   */
  private reboot(d: Device, afterMs: number, will: boolean): void {
    if (this.stopping || !d.wanted) return
    d.rebooting = true
    const comeBack = () => {
      clearTimeout(d.rebootTimer)
      d.rebootTimer = setTimeout(() => {
        d.rebooting = false
        if (!this.stopping) this.connect(d)
      }, afterMs)
    }
    if (will) {
      d.wanted = false
      // The reply sent just before is still in MQTT.js's corked stream until the next tick: the socket drops only once
      // its bytes are with the kernel (which still delivers them before the close), or the reply counted as sent
      // would be lost. A QoS 1/2 reply waits for its acknowledgement as well, as a device that confirms before it
      // restarts: dropped before it, MQTT.js sent the reply a second time after the reconnect.
      const stream = d.client?.stream
      const drop = () => {
        if (!stream?.writableLength) stream?.destroy()
        else {
          const force = setTimeout(() => stream.destroy(), 1000)
          stream.once('drain', () => {
            clearTimeout(force)
            stream.destroy()
          })
        }
      }
      setImmediate(() => {
        if (!d.unackedReplies?.size) return drop()
        const force = setTimeout(() => {
          d.repliesAcked = undefined
          drop()
        }, 1000)
        d.repliesAcked = () => {
          clearTimeout(force)
          d.repliesAcked = undefined
          drop()
        }
      })
      comeBack()
    } else {
      // The clean end finishes first, so the device comes back on a fresh client, never on the one still closing.
      void this.disconnect(d, 1000).then(comeBack)
    }
  }

  private onClose(d: Device): void {
    this.handshakeDone(d)
    d.direct = false
    const expected = !d.wanted || this.stopping
    if (d.connected) {
      d.connected = false
      d.counters.connected--
      // Only connections lost while the device wanted to stay up are disconnects; ramp-downs and the end are not.
      if (!expected) {
        d.counters.disconnects++
        d.lost = true
      }
    }
    if (expected) return
    const delay = backoffDelay(d.reconnectAttempt++, this.backoff, Math.random)
    clearTimeout(d.reconnectTimer)
    d.reconnectTimer = setTimeout(() => {
      if (!d.wanted || this.stopping || !d.client) return
      d.connectStartedAt = performance.now()
      this.reconnect(d)
    }, delay)
  }

  /**
   * Reconnects keeping the client's message stores: MQTT.js's reconnect() without them starts empty stores, which
   * would silently lose the QoS 1/2 messages in flight when the connection dropped (and never free their slots).
   * With them, MQTT.js sends those messages again after the CONNACK.
   */
  private reconnect(d: Device): void {
    const client = d.client
    if (!client) return
    client.reconnect({incomingStore: client.incomingStore, outgoingStore: client.outgoingStore})
  }

  private onError(d: Device, err: Error): void {
    d.counters.errors++
    // Connection errors repeat for every device during an outage: log a few, count all.
    if (this.errorsLogged++ < 3) this.post({type: 'log', level: 'warn', message: `${d.spec.clientId}: ${err.message}`})
  }

  private disconnect(d: Device, drainMs: number): Promise<void> {
    d.wanted = false
    clearTimeout(d.reconnectTimer)
    const client = d.client
    if (!client) return Promise.resolve()
    return new Promise((resolve) => {
      let done = false
      const finish = () => {
        if (done) return
        done = true
        clearTimeout(forceTimer)
        // An ended MQTT.js client cannot be reconnected reliably: a later ramp-up starts a fresh one (the broker
        // keeps a persistent session; the clean end already waited for the acks of messages in flight).
        if (d.client === client) {
          d.client = undefined
          this.giveUpReplies(d)
        }
        client.removeAllListeners('connect')
        resolve()
      }
      // end(false) waits for the acks of messages in flight; past drainMs the socket is destroyed. A second end()
      // would be a no-op once the first one started, so the stream is destroyed directly.
      const forceTimer = setTimeout(() => {
        client.stream?.destroy()
        finish()
      }, drainMs)
      const death = d.spec.death
      if (d.connected && death) client.publish(death.topic, death.payload, {qos: death.qos, retain: death.retain})
      if (d.connected) client.end(false, {}, finish)
      else client.end(true, {}, finish)
    })
  }

  // --- the schedule ------------------------------------------------------------------------------------------

  private schedule(d: Device): void {
    // Paired, the device wakes when its next message is due and writes both (publishDueNow takes all that are due);
    // a message that is due already (a turn's budget ran out between the two) waits for no partner.
    const next = d.scheduleStart + this.dueOffset(d, d.n)
    const ahead = this.pairing && this.canPair(d) && next > performance.now() ? 1 : 0
    const due = ahead === 0 ? next : d.scheduleStart + this.dueOffset(d, d.n + 1)
    this.queue.push(due, d.id)
    if (due < this.tickAt) this.armTick(due)
  }

  private canPair(d: Device): boolean {
    return d.direct && this.pairable(d)
  }

  /** Fast telemetry of a device without commands or a behaviour module (see PAIRING_MAX_EVERY_MS). */
  private pairable(d: Device): boolean {
    return d.spec.everyMs <= PAIRING_MAX_EVERY_MS && !d.commands && !d.behavior
  }

  /** Messages per second of the given devices that could pair (fast, direct, no commands). */
  private pairableRate(devices: readonly Device[]): number {
    let rate = 0
    for (const d of devices) if (this.goesDirect(d) && this.pairable(d)) rate += 1000 / d.spec.everyMs
    return rate
  }

  /** Messages with MQTT 5 properties, or whose topics MQTT.js replaces by aliases, keep going through MQTT.js. */
  private goesDirect(d: Device): boolean {
    return d.spec.qos === 0 && d.publishOptions.properties === undefined && !d.spec.properties?.topicAlias
  }

  /**
   * A device ramped down at `leavingAt` (the ramp turn's start, one moment for all its devices): what fell due while it
   * was wanted leaves before it goes (a paired device holds one message for its partner, and the tick may not have run
   * yet), rather than being neither sent nor counted.
   */
  private publishDueBeforeLeaving(d: Device, leavingAt: number): void {
    if (!d.scheduled) return
    const limit = this.setup.messageLimit
    for (let due = d.scheduleStart + this.dueOffset(d, d.n); due <= leavingAt; due = d.scheduleStart + this.dueOffset(d, d.n)) {
      this.publishDue(d, due)
      d.n++
      if (limit !== undefined && this.published >= limit) {
        this.reachLimit()
        break
      }
    }
    this.flushDirect()
  }

  /** At the stop: the message pairing held back for its partner (due, not yet an interval ago) leaves, not never. */
  private publishHeld(now: number): void {
    const limit = this.setup.messageLimit
    for (const d of this.devices) {
      if (limit !== undefined && this.published >= limit) break
      if (!d.scheduled || !d.wanted || !this.canPair(d)) continue
      const due = d.scheduleStart + this.dueOffset(d, d.n)
      if (due > now || due < now - d.spec.everyMs) continue
      this.publishDue(d, due)
      d.n++
    }
    this.flushDirect()
  }

  private updatePairing(): void {
    const {utilization} = performance.eventLoopUtilization(this.utilizationMark)
    this.utilizationMark = performance.eventLoopUtilization()
    if (!this.pairing && utilization > PAIRING_ON_UTILIZATION && this.devices.some((d) => this.canPair(d))) {
      this.switchPairingOn(`it is busy (${Math.round(utilization * 100)} % of its time), so its ${FAST_DEVICES}`)
    } else if (this.pairing && utilization < PAIRING_OFF_UTILIZATION) {
      // Calm because it pairs: the wanted fast devices' writes alone would make it busy again.
      if (this.pairableRate(this.devices.filter((d) => d.wanted)) * WRITE_CPU_SECONDS > PAIRING_ON_UTILIZATION) return
      this.pairing = false
    }
  }

  /** `why` ends with the subject of "now write two messages at a time". */
  private switchPairingOn(why: string): void {
    this.pairing = true
    if (this.pairingAnnounced) return
    this.pairingAnnounced = true
    // A warning, so the summary (--json and --quiet included) says it too: it changes what the lag measures.
    this.post({
      type: 'log',
      level: 'warn',
      message: `worker ${this.setup.workerId}: ${why} now write two messages at a time, the first up to one interval later (counted in the lag)`,
    })
  }

  private dueOffset(d: Device, n: number): number {
    d.dueOffset ??= dueSchedule(d.spec, this.seed)
    return d.dueOffset(n)
  }

  private armTick(due: number): void {
    clearTimeout(this.tickTimer)
    this.tickAt = due
    this.tickTimer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()))
  }

  /** Publishes every message that is due, then sleeps until the next due time. */
  private tick(): void {
    if (this.stopping) return
    // While the tick runs, schedule() leaves the timer alone (a clearTimeout + setTimeout per message otherwise): it
    // is armed once, at the end, for the earliest due time.
    this.tickAt = Number.NEGATIVE_INFINITY
    this.publishDueNow()
    // What this turn gathered for the sockets leaves now: one write per device, whatever its number of messages.
    this.flushDirect()
    this.tickAt = Number.POSITIVE_INFINITY
    if (this.queue.size > 0) this.armTick(this.queue.peekDue())
  }

  private publishDueNow(): void {
    const limit = this.setup.messageLimit
    // Only what was due when the turn began, and at most MAX_PER_TURN of it: a worker that falls behind would
    // otherwise find the next messages due before it ran out of due ones, never leave this loop, and starve its own
    // sockets (no CONNACK read, no stats sent: a 1,000 × 100 msg/s fleet once reported 0 connected after 30 s).
    // What is left goes out in the next turn, after I/O, still in due order and counted late.
    const until = performance.now()
    let budget = MAX_PER_TURN
    while (budget > 0 && this.queue.peekDue() <= until) {
      const id = this.queue.pop()
      const d = this.devices[id]
      if (!d.wanted && !d.rebooting) {
        // Ramped down: the schedule resumes from the next due time after it comes back.
        d.scheduled = false
        continue
      }
      // All of this device's due messages in a row: a paired device wakes when its second message falls due and
      // writes both, and a device the worker is behind on catches up in one piece. Each message's due time is its
      // own, not the wake time: a paired device wakes at its second message's due time, and the first message's
      // timestamp and lag are the first's.
      let due = d.scheduleStart + this.dueOffset(d, d.n)
      do {
        budget--
        this.publishDue(d, due)
        d.n++
        if (limit !== undefined && this.published >= limit) {
          this.reachLimit()
          return
        }
        due = d.scheduleStart + this.dueOffset(d, d.n)
      } while (budget > 0 && due <= until)
      this.schedule(d)
    }
  }

  private publishDue(d: Device, due: number): void {
    const c = d.counters
    d.model ??= createDeviceModel(this.setup.scenario, d.spec)
    if (d.behavior) d.behavior.tick()
    const sample = d.model.sample(d.n, Math.round(this.epochOffset + due))
    if (sample.labels.length > 0) this.postLabels(sample.labels)
    this.published++
    if (sample.payload === null) {
      c.suppressed++
      return
    }
    const up = this.isUp(d)
    if (d.spec.qos === 0) {
      if (!up) {
        c.dropped++
        return
      }
      if (d.direct) this.queueDirect(d, sample.payload, due)
      else this.send(d, sample.payload, due)
      return
    }
    if (d.inflight >= d.spec.inflight || !up) {
      // Held until an in-flight slot frees or the device reconnects; its lag keeps counting from the due time.
      if (d.backlog.length >= d.spec.offlineQueue) {
        c.dropped++
        if (!this.backlogWarned) {
          this.backlogWarned = true
          this.post({type: 'log', level: 'warn', message: `${d.spec.clientId}: its offline queue is full (offlineQueue: ${d.spec.offlineQueue} QoS ${d.spec.qos} messages); dropping more (counted)`})
        }
        return
      }
      d.backlog.push({payload: sample.payload, due})
      return
    }
    this.send(d, sample.payload, due)
  }

  /** Hands one message to the client. Lag and lateness are measured here, at the moment it really leaves. */
  private send(d: Device, payload: string, due: number): void {
    const c = d.counters
    const now = performance.now()
    const lagMs = now - due
    recordMicros(this.publishLag, lagMs * 1000)
    if (lagMs > d.spec.everyMs) c.late++
    c.published++
    c.bytes += payload.length
    if (d.spec.qos === 0) {
      d.client?.publish(d.spec.topic, payload, d.publishOptions)
      return
    }
    d.inflight++
    d.client?.publish(d.spec.topic, payload, d.publishOptions, (err) => {
      d.inflight--
      if (err) {
        c.errors++
      } else {
        c.acked++
        recordMicros(this.ackLatency, (performance.now() - now) * 1000)
      }
      this.flushBacklog(d)
    })
  }

  private queueDirect(d: Device, payload: string, due: number): void {
    if (!d.pending || !d.pendingDue) {
      d.pending = []
      d.pendingDue = []
    }
    if (d.pending.length === 0) this.touched.push(d)
    d.pending.push({topic: d.spec.topic, payload, retain: d.spec.retain})
    d.pendingDue.push(due)
    if (++this.pendingCount >= DIRECT_FLUSH_EVERY) this.flushDirect()
  }

  /**
   * Writes the direct messages gathered so far: per device one buffer of back-to-back PUBLISH frames and one
   * socket write (MQTT.js would make several writes and objects per message). Lag and lateness are measured here,
   * when they leave, as in send().
   */
  private flushDirect(): void {
    if (this.pendingCount === 0) return
    for (const d of this.touched) {
      const pending = d.pending ?? []
      const dues = d.pendingDue ?? []
      const c = d.counters
      const stream = d.client?.stream
      if (this.isUp(d) && stream?.writable && stream.writableLength <= DIRECT_BUFFER_LIMIT) {
        // Read per device: writing a whole turn's devices takes milliseconds, and the last of them leave that much later.
        const now = performance.now()
        for (let i = 0; i < pending.length; i++) {
          const lagMs = now - dues[i]
          recordMicros(this.publishLag, lagMs * 1000)
          if (lagMs > d.spec.everyMs) c.late++
          c.bytes += pending[i].payload.length
        }
        c.published += pending.length
        stream.write(encodeQos0Publishes(pending, 0, pending.length, this.protocolVersion))
      } else {
        // A socket that stopped taking data (or, should one be gone in the middle of a turn, a closed one).
        c.dropped += pending.length
        if (this.isUp(d) && !this.bufferWarned) {
          this.bufferWarned = true
          this.post({type: 'log', level: 'warn', message: `${d.spec.clientId}: the broker is not reading (${DIRECT_BUFFER_LIMIT / 1024} KiB waiting in the socket); dropping QoS 0 messages (counted)`})
        }
      }
      pending.length = 0
      dues.length = 0
    }
    this.touched.length = 0
    this.pendingCount = 0
  }

  /**
   * At the stop: messages whose due time passed more than one interval ago and that were never sent (a worker that
   * could not keep up) are counted as dropped, so the totals account for the whole schedule. Jitter is left out of
   * this count (at most one message per device either way).
   */
  private countOverdue(now: number): void {
    for (const d of this.devices) {
      if (!d.scheduled || (!d.wanted && !d.rebooting)) continue
      const cutoff = now - d.spec.everyMs
      if (d.scheduleStart + this.dueOffset(d, d.n) >= cutoff) continue
      const last = Math.floor((cutoff - d.scheduleStart - d.spec.phaseMs) / d.spec.everyMs)
      d.counters.dropped += Math.max(1, last - d.n + 1)
    }
  }

  private flushBacklog(d: Device): void {
    while (d.backlog.length > 0 && this.isUp(d) && d.inflight < d.spec.inflight) {
      const next = d.backlog.shift()
      if (next) this.send(d, next.payload, next.due)
    }
  }

  private reachLimit(): void {
    clearTimeout(this.tickTimer)
    this.queue.clear()
    for (const d of this.devices) d.scheduled = false
    if (!this.limitReported) {
      this.limitReported = true
      this.post({type: 'limit-reached'})
    }
  }

  private pendingLabels: AnomalyLabel[] = []
  private labelFlush?: NodeJS.Timeout

  private postLabels(labels: readonly AnomalyLabel[]): void {
    this.pendingLabels.push(...labels)
    this.labelFlush ??= setTimeout(() => {
      this.labelFlush = undefined
      const batch = this.pendingLabels
      this.pendingLabels = []
      this.post({type: 'labels', labels: batch})
    }, 200)
  }

  // --- stats -------------------------------------------------------------------------------------------------

  private takeStats(): WorkerStats {
    if (this.pendingLabels.length > 0) {
      clearTimeout(this.labelFlush)
      this.labelFlush = undefined
      this.post({type: 'labels', labels: this.pendingLabels})
      this.pendingLabels = []
    }
    const fleets = [...this.fleetCounters.values()].map((c) => ({...c}))
    // Everything but the gauges is a delta: reset after copying.
    for (const c of this.fleetCounters.values()) {
      c.published = c.acked = c.late = c.suppressed = c.dropped = c.errors = c.disconnects = c.reconnects = c.bytes = 0
      if (c.unsent !== undefined) c.unsent = 0
      c.commandsReceived = c.commandsApplied = c.commandsReplied = c.commandsReplyLost = c.commandsFailed = c.commandsIgnored = 0
      if (c.commandsNotTaken !== undefined) c.commandsNotTaken = 0
    }
    const now = performance.now()
    const stats: WorkerStats = {
      workerId: this.setup.workerId,
      intervalMs: now - this.statsTakenAt,
      fleets,
      publishLag: encodeHistogram(this.publishLag),
      ackLatency: encodeHistogram(this.ackLatency),
      connectLatency: encodeHistogram(this.connectLatency),
      eventLoopLagP99Ms: this.loopDelay.takeIntervalP99Ms(),
      eventLoopLagRunP99Ms: this.loopDelay.runP99Ms(),
      allConnectedAtEpochMs: this.allConnectedAtEpochMs,
    }
    this.statsTakenAt = now
    this.publishLag.reset()
    this.ackLatency.reset()
    this.connectLatency.reset()
    return stats
  }
}
