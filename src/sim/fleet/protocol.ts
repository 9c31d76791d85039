import type {Scenario} from '../scenario/index.js'
import type {AnomalyLabel, DeviceSpec, FleetCounters} from '../types.js'

/**
 * The typed message protocol between the fleet engine (main thread) and its workers, as discriminated unions.
 * Everything crosses threads by structured cloning, so it is plain data only.
 */

export interface WorkerSetup {
  workerId: number
  scenario: Scenario
  devices: DeviceSpec[]
  brokerUrl: string
  /** This worker's share of the scenario's message limit (undefined = unlimited). */
  messageLimit?: number
  /** Source addresses to bind, round-robin by global device ordinal (empty = the OS chooses). */
  sourceAddresses: string[]
  /** Global ordinal of this worker's first device, so source-address assignment is fleet-wide round-robin. */
  firstOrdinal: number
}

export type StageCommand =
  | {kind: 'ramp'; toShare: number; overMs: number}
  | {kind: 'storm'; dropShare: number}

export type ToWorker =
  | {type: 'start'; setup: WorkerSetup}
  | {type: 'stage'; stage: StageCommand}
  /** Send your counters now: the live snapshot waits for every worker's answer (engine.ts). */
  | {type: 'report'; round: number}
  | {type: 'stop'; drainMs: number}

/** Counters are deltas since the previous stats message, except `connected` and `target` which are gauges. */
export interface WorkerStats {
  workerId: number
  /** Length of the interval these deltas cover (worker timers drift against the main thread's). */
  intervalMs: number
  fleets: FleetCounters[]
  /** On the final stats only: devices connected per fleet when the stop began, before the clean disconnects. */
  connectedAtStop?: Record<string, number>
  /** Encoded HDR histograms (µs) of this interval. */
  publishLag: string
  ackLatency: string
  connectLatency: string
  /** Event-loop delay p99 of this worker over the interval, ms. */
  eventLoopLagP99Ms: number
  /** Event-loop delay p99 of this worker over the run so far, ms. */
  eventLoopLagRunP99Ms: number
  /** The `report` round these stats answer (absent on the final stats of `done`). */
  round?: number
  /** Epoch ms when the last device of this worker first connected, once all have. */
  allConnectedAtEpochMs?: number
}

export type FromWorker =
  /** The worker has built its devices and takes stage commands: the engine starts the stage clock once all are. */
  | {type: 'ready'}
  | {type: 'stats'; stats: WorkerStats}
  | {type: 'labels'; labels: AnomalyLabel[]}
  | {type: 'log'; level: 'info' | 'warn' | 'error'; message: string}
  | {type: 'limit-reached'}
  | {type: 'done'; stats: WorkerStats}
  | {type: 'fatal'; message: string}
