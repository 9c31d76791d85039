import {monitorEventLoopDelay, performance, type IntervalHistogram} from 'node:perf_hooks'
import type {MqttClient} from 'mqtt'
import {backoffDelay, createMqttClient, assignSourceAddress, type BackoffOptions, type ClientOptions} from '../../net/index.js'
import {createHistogram, encodeHistogram, recordMicros, type LatencyHistogram} from '../../metrics/histogram.js'
import {createDeviceModel, createRng, dueOffsetMs, type DeviceModel} from '../generators/index.js'
import type {Scenario} from '../scenario/index.js'
import {emptyCounters, type AnomalyLabel, type DeviceSpec, type FleetCounters, type Qos} from '../types.js'
import {DueQueue} from './due-queue.js'
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
  publishOptions: {qos: Qos; retain: boolean}
  /** Built at the device's first message: a fleet of rarely reporting devices does not hold every model at once. */
  model?: DeviceModel
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
  /** Index of the next message. */
  n: number
  scheduled: boolean
  inflight: number
  /** Payloads waiting for an in-flight slot (QoS 1/2 cap), with their due times. */
  backlog: Array<{payload: string; due: number}>
}

const STATS_INTERVAL_MS = 1000
/** Connects started per turn of the event loop during a fast ramp. */
const CONNECT_BATCH = 100
export class FleetWorker {
  private readonly setup: WorkerSetup
  private readonly post: (msg: FromWorker) => void
  private readonly devices: Device[]
  private readonly fleetCounters = new Map<string, FleetCounters>()
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
  private statsTimer?: NodeJS.Timeout
  private stopping = false
  private published = 0
  private limitReported = false
  private publishLag: LatencyHistogram
  private ackLatency: LatencyHistogram
  private connectLatency: LatencyHistogram
  private loopDelay: IntervalHistogram
  private allConnectedAtEpochMs?: number
  private everConnectedCount = 0
  private errorsLogged = 0
  private storms = 0
  private statsTakenAt = performance.now()
  private backlogWarned = false

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
      return {
        id,
        spec,
        publishOptions: {qos: spec.qos, retain: spec.retain},
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
      }
    })
    this.publishLag = createHistogram()
    this.ackLatency = createHistogram()
    this.connectLatency = createHistogram()
    this.loopDelay = monitorEventLoopDelay({resolution: 10})
  }

  start(): void {
    if (this.setup.messageLimit === 0) this.reachLimit()
    this.loopDelay.enable()
    this.statsTimer = setInterval(() => this.post({type: 'stats', stats: this.takeStats()}), STATS_INTERVAL_MS)
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
    this.clearRampTimer()
    clearInterval(this.statsTimer)
    const connectedAtStop = Object.fromEntries([...this.fleetCounters.values()].map((c) => [c.fleet, c.connected]))
    const closing: Array<Promise<void>> = []
    for (const d of this.devices) {
      clearTimeout(d.reconnectTimer)
      d.wanted = false
      // Messages still waiting for an in-flight slot or a connection are not sent: count them, do not hide them.
      d.counters.dropped += d.backlog.length
      d.counters.unsent = (d.counters.unsent ?? 0) + d.backlog.length
      d.backlog.length = 0
      if (d.client) closing.push(this.disconnect(d, drainMs))
    }
    await Promise.all(closing)
    this.loopDelay.disable()
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
    const began = performance.now()
    let done = 0
    const step = () => {
      const elapsed = performance.now() - began
      const due = overMs <= 0 ? todo.length : Math.min(todo.length, Math.floor((elapsed / overMs) * todo.length) + 1)
      // At most CONNECT_BATCH per turn of the event loop: CONNACKs get handled between batches, which connects a
      // large fleet about 3x faster than opening every socket in one synchronous loop (perf/RESULTS.md).
      const until = Math.min(due, done + CONNECT_BATCH)
      for (; done < until && !this.stopping; done++) {
        const d = todo[done]
        if (goingUp) this.connect(d)
        else void this.disconnect(d, 1000)
      }
      if (done >= todo.length || this.stopping) return
      if (done < due) {
        this.rampImmediate = setImmediate(step)
      } else {
        const nextAt = (done / todo.length) * overMs
        this.rampTimer = setTimeout(step, Math.max(1, nextAt - elapsed))
      }
    }
    step()
  }

  private clearRampTimer(): void {
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
    })
    d.client = client
    client.on('connect', () => this.onConnect(d))
    client.on('close', () => this.onClose(d))
    client.on('error', (err) => this.onError(d, err))
  }

  private onConnect(d: Device): void {
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
    const birth = d.spec.birth
    if (birth) d.client?.publish(birth.topic, birth.payload, {qos: birth.qos, retain: birth.retain})
    if (!d.scheduled && !this.limitReported) {
      // The schedule starts at the first connect and keeps its phase across reconnects (drift free). A device
      // that was ramped down resumes one phase after it comes back instead of replaying the time it was away.
      d.scheduleStart = d.n === 0 ? now : now + d.spec.phaseMs - dueOffsetMs(d.spec, d.n, this.seed)
      d.scheduled = true
      this.schedule(d)
    }
    this.flushBacklog(d)
  }

  private onClose(d: Device): void {
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
        if (d.client === client) d.client = undefined
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
    const due = d.scheduleStart + dueOffsetMs(d.spec, d.n, this.seed)
    this.queue.push(due, d.id)
    if (due < this.tickAt) this.armTick(due)
  }

  private armTick(due: number): void {
    clearTimeout(this.tickTimer)
    this.tickAt = due
    this.tickTimer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()))
  }

  /** Publishes every message that is due, then sleeps until the next due time. */
  private tick(): void {
    this.tickAt = Number.POSITIVE_INFINITY
    if (this.stopping) return
    const limit = this.setup.messageLimit
    while (this.queue.peekDue() <= performance.now()) {
      const due = this.queue.peekDue()
      const id = this.queue.pop()
      const d = this.devices[id]
      if (!d.wanted) {
        // Ramped down: the schedule resumes from the next due time after it comes back.
        d.scheduled = false
        continue
      }
      this.publishDue(d, due)
      d.n++
      if (limit !== undefined && this.published >= limit) {
        this.reachLimit()
        return
      }
      this.schedule(d)
    }
    if (this.queue.size > 0) this.armTick(this.queue.peekDue())
  }

  private publishDue(d: Device, due: number): void {
    const c = d.counters
    d.model ??= createDeviceModel(this.setup.scenario, d.spec)
    const sample = d.model.sample(d.n, Math.round(this.epochOffset + due))
    if (sample.labels.length > 0) this.postLabels(sample.labels)
    this.published++
    if (sample.payload === null) {
      c.suppressed++
      return
    }
    if (d.spec.qos === 0) {
      if (!d.connected) {
        c.dropped++
        return
      }
      this.send(d, sample.payload, due)
      return
    }
    if (d.inflight >= d.spec.inflight || !d.connected) {
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

  private flushBacklog(d: Device): void {
    while (d.backlog.length > 0 && d.connected && d.inflight < d.spec.inflight) {
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

  private postLabels(labels: AnomalyLabel[]): void {
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
    }
    const now = performance.now()
    const stats: WorkerStats = {
      workerId: this.setup.workerId,
      intervalMs: now - this.statsTakenAt,
      fleets,
      publishLag: encodeHistogram(this.publishLag),
      ackLatency: encodeHistogram(this.ackLatency),
      connectLatency: encodeHistogram(this.connectLatency),
      eventLoopLagP99Ms: this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e6 : 0,
      allConnectedAtEpochMs: this.allConnectedAtEpochMs,
    }
    this.statsTakenAt = now
    this.publishLag.reset()
    this.ackLatency.reset()
    this.connectLatency.reset()
    this.loopDelay.reset()
    return stats
  }
}
