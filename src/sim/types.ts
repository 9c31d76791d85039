/**
 * Plain-data contracts between the scenario model, the fleet engine (which runs in worker_threads, so everything
 * here must survive structured cloning) and the reporters.
 */

export type Qos = 0 | 1 | 2

export interface MessageSpec {
  topic: string
  payload: string
  qos: Qos
  retain: boolean
}

/** One simulated MQTT device, fully resolved from its fleet (templates rendered, seeded phase chosen). */
export interface DeviceSpec {
  /** Name of the fleet group this device belongs to. */
  fleet: string
  /** Index within its fleet (0-based); with the scenario seed it determines every random stream of the device. */
  index: number
  deviceId: string
  clientId: string
  /** Telemetry topic, rendered. */
  topic: string
  /** Template variables of this device ({fleet}, {index}, {deviceId} and the fleet's vars), rendered. */
  vars: Record<string, string>
  /** The device's params (the fleet's `params:`, drawn once for it); also in vars as `params.<name>`. */
  params?: Record<string, number | string | boolean>
  everyMs: number
  /** Maximum absolute jitter applied to each message's due time (it never accumulates). */
  jitterMs: number
  /** Offset of the first message from the device's connect time, in [0, everyMs): spreads a fleet over the period. */
  phaseMs: number
  qos: Qos
  retain: boolean
  /** false = persistent session (clean: false / cleanStart: false + session expiry). */
  cleanSession: boolean
  /** MQTT 5 session expiry for persistent sessions (ms): the fleet's `sessionExpiry`, or 1 hour by default for MQTT 5. */
  sessionExpiryMs?: number
  /** QoS 1/2 messages allowed unacknowledged at once per device. */
  inflight: number
  /** QoS 1/2 messages held while offline or while the in-flight window is full; more are dropped (counted). */
  offlineQueue: number
  birth?: MessageSpec
  lwt?: MessageSpec
  /** Sent (retained, as birth is) when the device disconnects cleanly at the end of a run, if configured. */
  death?: MessageSpec
  /** MQTT 5 properties of every telemetry message, templates rendered (the fleet's `properties:`). */
  properties?: PublishProperties
}

/**
 * MQTT 5 PUBLISH properties in MQTT.js's names, as plain data (correlation data as text: a Buffer does not survive
 * structured cloning into a worker; it becomes bytes when the message is sent).
 */
export interface PublishProperties {
  userProperties?: Record<string, string>
  messageExpiryInterval?: number
  contentType?: string
  payloadFormatIndicator?: boolean
  responseTopic?: string
  correlationData?: string
  /** Not a property on the wire: the device's client assigns topic aliases (MQTT.js autoAssignTopicAlias). */
  topicAlias?: boolean
}

/** Ground truth for anomaly detectors: one JSON line per injected anomaly. Times are epoch milliseconds. */
export interface AnomalyLabel {
  ts: number
  deviceId: string
  field: string
  kind: string
  start: number
  end: number
  /** The anomaly's `name:` (written when the scenario names it, and always for one a command started). */
  name?: string
  /** `command`: a command started it (`command` is the rule's name); absent for one the scenario's seed started. */
  source?: 'command'
  command?: string
}

/** What a device produces for one due message. */
export interface DeviceSample {
  /** The encoded payload, or null when the message is suppressed (dropout anomaly). */
  payload: string | null
  /** Anomaly labels that started with this sample (usually none). */
  labels: readonly AnomalyLabel[]
}

/** Counters per fleet, summed over workers. */
export interface FleetCounters {
  fleet: string
  target: number
  connected: number
  published: number
  acked: number
  /** Messages whose due time was missed by more than one period (counted, never silently skipped). */
  late: number
  /** Messages suppressed by a dropout anomaly. */
  suppressed: number
  /**
   * Messages not sent: QoS 0 ones due while the connection was down, QoS 1/2 ones beyond the device's offline
   * queue, and (counted in `unsent` too) QoS 1/2 ones still queued when the run ended.
   */
  dropped: number
  /** QoS 1/2 messages still in a device's offline queue when the run ended: not sent (part of `dropped`). */
  unsent?: number
  errors: number
  disconnects: number
  reconnects: number
  bytes: number
  /**
   * Messages that arrived on a command or twin subscription: applied + failed + ignored + not taken (+ waiting while
   * the run goes on). One a persistent session delivers again after it was not taken counts on each arrival.
   */
  commandsReceived: number
  /** Commands whose reaction took effect (after their latency). */
  commandsApplied: number
  /** Replies and twin reports published. */
  commandsReplied: number
  /**
   * Replies and twin reports that were due but not sent: the device was disconnected (rebooting, or its connection
   * lost) when they fell due, or the reply had no topic. The requester waits in vain, so they are counted.
   */
  commandsReplyLost: number
  /** Commands that failed (the declared failure share, values that could not be applied, or cut off by the stop). */
  commandsFailed: number
  /** Messages on a command subscription that no rule matched (a `when:` that did not hold). */
  commandsIgnored: number
  /**
   * Messages that reached a device going down (a commanded reboot, or the run's stop) and were not taken, as an
   * offline device takes none (part of `commandsReceived`). Present for a fleet with commands or a behaviour; a
   * summary of an older iotd lacks it (0).
   */
  commandsNotTaken?: number
}

export function emptyCounters(fleet: string): FleetCounters {
  return {fleet, target: 0, connected: 0, published: 0, acked: 0, late: 0, suppressed: 0, dropped: 0, errors: 0, disconnects: 0, reconnects: 0, bytes: 0, commandsReceived: 0, commandsApplied: 0, commandsReplied: 0, commandsReplyLost: 0, commandsFailed: 0, commandsIgnored: 0}
}

import type {ThresholdVerdict} from '../metrics/thresholds.js'

/** Latency figures in milliseconds. */
export interface LatencyFigures {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

export interface ClientHealth {
  /** Process CPU use over the last interval, percent of one core (can exceed 100 with workers). */
  cpuPercent: number
  rssBytes: number
  /** Event-loop lag p99 of the main thread and workers over the last interval, ms. */
  eventLoopLagP99Ms: number
}

/** What the live view shows, once a second. Rates are per second over the last interval. */
export interface SimSnapshot {
  elapsedMs: number
  /** Planned run length, if bounded. */
  durationMs?: number
  broker: string
  fleets: Array<FleetCounters & {msgRate: number}>
  totals: FleetCounters & {msgRate: number}
  /** Publish lag (actual send time minus due time) over the last interval. */
  publishLag: LatencyFigures
  /** QoS 1/2 publish → PUBACK/PUBCOMP over the last interval. */
  ackLatency: LatencyFigures
  health: ClientHealth
  /**
   * Stage currently running, e.g. "ramp to 100%", "steady", "storm 30%"; after the last stage "steady", or "after
   * storm 30%" when the plan ended with a storm (its devices may still be reconnecting).
   */
  stage: string
}

/** The end-of-run summary (`--json` prints it with schemaVersion). */
export interface SimSummary {
  schemaVersion: 1
  scenario: string
  seed: number
  broker: string
  embeddedBroker: boolean
  startedAt: string
  /** From the start of the run (every worker ready: the duration's clock) to its stop; the rates divide by it. */
  elapsedMs: number
  interrupted: boolean
  devices: number
  /**
   * This run as shard `index` of `count` (--shard/--shards): `devices` and the counts are its part. `index` counts
   * from 0, as JOB_COMPLETION_INDEX and bench's result (bench-result.ts) do: `--shard 2/3` is `{index: 1, count: 3}`.
   * Every text (warnings, refusals, the summary) says it 1-based, as --shard takes it.
   */
  shard?: {index: number; count: number}
  /**
   * A shard's: the definition of the whole run it is a part of (sim/scenario/fingerprint.ts): a hash of what decides
   * which devices exist and what they send, and the devices of every shard together. `iotd sim merge` refuses shards
   * whose fingerprints differ. Absent in unsharded runs and in summaries of older versions.
   */
  definition?: {fingerprint: string; devices: number}
  workers: number
  fleets: FleetCounters[]
  totals: FleetCounters
  /** Over the whole run. */
  publishLag: LatencyFigures
  ackLatency: LatencyFigures
  /**
   * Time from the first ramp (the first device told to connect: the run's start without stages:) until every device
   * had connected once (ms), if that happened. Worker start-up is in neither this nor elapsedMs. In a merged summary
   * the slowest shard's own figure: shards connect in separate processes, each timed from its own first connect.
   */
  connectAllMs?: number
  /** Connect (CONNECT → CONNACK) latency over the whole run. */
  connectLatency: LatencyFigures
  health: ClientHealth & {peakRssBytes: number}
  labelsFile?: string
  /** Anomaly labels generated in the run (written to labelsFile when one was given). */
  labels?: number
  warnings: string[]
  /**
   * MQTT devices were asked for and none ever connected: the run did nothing it was asked, and exits 1 whatever
   * else it counted.
   */
  neverConnected: boolean
  /**
   * Devices connected and messages fell due (some were dropped, or the run lasted twice the shortest interval), yet
   * not one was published or suppressed: connections that kept dying, devices rebooted the whole run. The run did
   * nothing it was asked and exits 1. Absent in summaries of older versions.
   */
  publishedNothing?: boolean
  /** Messages that reached the broker: written at QoS 0, acknowledged at QoS 1/2 (the `delivered` threshold). */
  delivered: number
  /** `--threshold` verdicts, in the order given; any failure makes the run exit 99. */
  thresholds?: ThresholdVerdict[]
  /** Set when the run failed part-way (a worker crashed); the figures cover what happened until then. */
  error?: string
  /** Set by `iotd sim merge`: how many shards of how many these figures add up. */
  mergedShards?: {merged: number; of: number}
}
