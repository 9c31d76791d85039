import type {RateProfile} from '../pacing/load-profile.js'
import type {MqttProtocolVersion, QoS} from '../net/mqtt-wire.js'

/**
 * The typed messages between `runBench` (main thread) and its bench workers. Plain data only (structured clone).
 *
 * A run: setup -> the worker connects its clients and answers `ready` -> `go` (one start time for every worker) ->
 * `stats` every second -> `stop-publishing` -> the worker lets its publishers settle and answers `published` ->
 * (subscribers drain; stats keep coming) -> `stop` -> `done` with the last stats.
 */

export interface BenchBrokerAddress {
  host: string
  port: number
  username?: string
  password?: string
  keepaliveSec: number
  connectTimeoutMs: number
  tls?: import('../net/mqtt-connection.js').MqttEndpoint['tls']
}

export interface PublisherSetup {
  /** Publisher id in the header: unique across the run (all shards). */
  id: number
  topic: string
  clientId: string
  /** The open model's share for this publisher; absent in saturation. */
  profile?: RateProfile
  /** Saturation only: this publisher's share of --messages (Infinity without). */
  messageLimit: number
  sourceAddress?: string
}

export interface SubscriberSetup {
  id: number
  filter: string
  clientId: string
  sourceAddress?: string
}

export interface ConnectorSetup {
  /** Connections this worker opens, at its share of the connect rate. */
  clients: Array<{clientId: string; sourceAddress?: string}>
  /** Open-model schedule of the connection attempts (indexes = clients), or undefined: all at once. */
  profile?: RateProfile
  /** Subscribe each connection to this filter and include the SUBACK in the connect time. */
  subscribe?: string
  /** At most this many connection attempts in flight at once (all-at-once mode). */
  concurrency: number
}

export interface BenchWorkerSetup {
  workerId: number
  /** The main thread's bench clock epoch (latency-header.ts adoptBenchClock). */
  clockEpoch: number
  broker: BenchBrokerAddress
  protocolVersion: MqttProtocolVersion
  qos: QoS
  retain: boolean
  payloadBytes: number
  publishers: PublisherSetup[]
  subscribers: SubscriberSetup[]
  connector?: ConnectorSetup
  /** In-flight window per publisher (QoS 1/2, and QoS 0 saturation). */
  inflight: number
  batch: number
  maxLagMs: number
  /** Subscribe-only: sequences start at the first message seen. */
  joinRunningStream: boolean
}

export interface BenchWorkerCounts {
  planned: number
  sent: number
  /** Sent in all, warm-up included: what the broker's own count is compared with. */
  sentTotal: number
  acked: number
  dropped: number
  late: number
  errors: number
  received: number
  distinct: number
  duplicates: number
  reordered: number
  foreign: number
  /** Subscribe-only: holes in the sequences seen (loss without a known sent count). */
  holes: number
  connected: number
  /** Connection attempts (connect mode). */
  attempts: number
  /** QoS 1/2: summed over the publishers, ms their in-flight window was full (the broker holding back acks). */
  windowFullMs: number
  /** Of `dropped`: measured sends that fell due while their publisher's broker connection was down. */
  droppedDown?: number
  /** Times a publisher lost its broker connection during the run. */
  disconnects?: number
  /** Publishers without a broker connection at the time of the report (reconnecting). */
  down?: number
}

export interface BenchWorkerStats {
  workerId: number
  /** ms this report covers. */
  intervalMs: number
  /** Cumulative over the measured window, not deltas: the last report of a worker is its final word. */
  counts: BenchWorkerCounts
  /** This interval's histograms, encoded (µs): merged into the run's and the interval's. */
  latency: string
  uncorrected: string
  ack: string
  connect: string
  eventLoopLagP99Ms: number
  /** Event-loop delay p99 of this worker over the run so far, ms. */
  eventLoopLagRunP99Ms: number
  /** Worst lag of a sent message behind its intended time so far, ms. */
  worstScheduleLagMs: number
  /** Bench-clock µs of the last measured delivery to any of this worker's subscribers; 0 before the first. */
  lastArrivalUs: number
  /** Bench-clock µs of the first measured delivery to any of this worker's subscribers; 0 before it. */
  firstArrivalUs: number
  /** The run second (0 = the measured window's first) the interval histograms belong to; null before `go`. */
  second: number | null
  /** Sends (attempts in conn mode) since the last report, by run second: [second, count] (see second-counts.ts). */
  sentBySecond: Array<[number, number]>
  /** Deliveries since the last report, by run second of arrival. */
  receivedBySecond: Array<[number, number]>
}

export type ToBenchWorker =
  | {type: 'setup'; setup: BenchWorkerSetup}
  | {type: 'go'; startAtUs: number; warmupMs: number}
  | {type: 'stop-publishing'}
  | {type: 'stop'}

export type FromBenchWorker =
  | {type: 'ready'; stats: BenchWorkerStats}
  | {type: 'stats'; stats: BenchWorkerStats}
  | {type: 'publishers-done'}
  | {type: 'published'; stats: BenchWorkerStats}
  | {type: 'done'; stats: BenchWorkerStats}
  | {type: 'log'; level: 'info' | 'warn' | 'error'; message: string}
  | {type: 'fatal'; message: string}
