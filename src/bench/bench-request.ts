import type {MqttEndpoint} from '../net/index.js'
import type {LatencySummary} from '../metrics/histogram.js'
import type {LatencyDistribution} from '../metrics/observation.js'
import type {Threshold} from '../metrics/thresholds.js'
import type {MqttProtocolVersion, QoS} from '../net/mqtt-wire.js'
import type {LoadProfile} from '../pacing/load-profile.js'
import type {BenchMode, BenchResult} from './bench-result.js'
import type {BenchWorkerCounts} from './protocol.js'

/** What a bench run is asked (runBench), what it shows each second and what it returns. */

export interface BenchRequest {
  mode: BenchMode
  /** Broker URL; undefined: the local broker on the default address, or the embedded one. */
  brokerUrl?: string
  defaultBrokerUrl?: string
  username?: string
  password?: string
  tls?: MqttEndpoint['tls']
  protocolVersion: MqttProtocolVersion
  qos: QoS
  retain: boolean
  payloadBytes: number
  /** Publishers in the whole run (all shards); connections in conn mode. */
  publishers: number
  subscribers: number
  /** Publish topic with placeholders: %i (publisher number), %s (shard index). */
  topic: string
  /** Subscription filter; default: the topic with every placeholder level as `+`. */
  subscribeTopic?: string
  profile: LoadProfile
  /** Saturation: run length; conn mode: how long connections are held once all are up. */
  durationMs?: number
  warmupMs: number
  /** Saturation: at most this many messages (the open model carries its limit in the profile). */
  messages?: number
  inflight: number
  batch: number
  maxLagMs: number
  keepaliveSec: number
  connectTimeoutMs: number
  /** Conn mode: attempts in flight at once when no connect rate is given. */
  connectConcurrency: number
  /** Conn mode: subscribe each connection (the SUBACK counts in the connect time). */
  connSubscribe?: string
  workers?: number
  sourceIps?: string
  shard?: {index: number; count: number}
  /** Epoch ms at which the load starts (--start-at), so shards in separate processes start together. */
  startAtMs?: number
  /** Names the run, so `report merge` refuses results of different runs; shards of one run share it. */
  runId?: string
  clientIdPrefix: string
  thresholds: Threshold[]
  commandLine: string[]
  profileFile?: string
  toolVersion: string
  /** How long subscribers may take to receive what was sent, after sending stopped. */
  drainMs: number
  /** Read mosquitto's $SYS count before and after (default true in e2e and pub modes). */
  brokerCount: boolean
  signal?: AbortSignal
  onSnapshot?: (snapshot: BenchSnapshot) => void
  onLog?: (message: string, level: 'info' | 'warn' | 'error') => void
}

export type BenchPhase = 'connecting' | 'warm-up' | 'running' | 'draining' | 'done'

/** What the live view and the plain lines show each second. */
export interface BenchSnapshot {
  mode: BenchMode
  phase: BenchPhase
  elapsedMs: number
  /** Planned length of the load (warm-up included), when known. */
  plannedMs?: number
  broker: string
  load: string
  /** The schedule's rate now (whole shard), null in saturation. */
  targetPerSec: number | null
  /** Start (epoch ms) of the second of the run that sentPerSec, receivedPerSec and interval describe. */
  intervalStartMs: number
  sentPerSec: number
  receivedPerSec: number | null
  clients: {connected: number; total: number}
  counts: BenchWorkerCounts
  /** The headline distribution this interval and so far. */
  headline: LatencyDistribution
  interval: LatencySummary
  cumulative: LatencySummary
  /** Uncorrected figures so far (end-to-end and subscribe modes). */
  uncorrected?: LatencySummary
  /** Publish -> PUBACK/PUBCOMP so far, at QoS 1/2 in end-to-end mode (publish-only leads with it already). */
  ack?: LatencySummary
  /** Cumulative percentile curve for the chart: [percentile, ms] points. */
  percentileCurve: Array<[number, number]>
  health: {cpuPercent: number; rssBytes: number; eventLoopLagP99Ms: number; cores: number}
}

export interface BenchOutcome {
  result: BenchResult
  interrupted: boolean
  /** A fatal failure during the run (a worker crashed); the result covers the run until then. */
  error?: string
  /**
   * Why the run did nothing it was asked (nothing sent, nothing received), in one line: such a run never exits 0.
   * Undefined when it did something, or was interrupted or failed (error says why).
   */
  didNothing?: string
  warnings: string[]
}

