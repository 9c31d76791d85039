import {availableParallelism} from 'node:os'
import {appendFileSync, writeFileSync} from 'node:fs'
import {performance} from 'node:perf_hooks'
import {HealthSampler} from '../../metrics/health-sampler.js'
import {summarize, type LatencySummary} from '../../metrics/histogram.js'
import {IntervalHistograms} from '../../metrics/interval-histograms.js'
import type {Scenario} from '../scenario/index.js'
import {emptyCounters, type AnomalyLabel, type DeviceSpec, type FleetCounters, type LatencyFigures, type SimSnapshot, type SimSummary} from '../types.js'
import type {FromWorker, StageCommand, ToWorker, WorkerSetup, WorkerStats} from './protocol.js'
import {WorkerPool, type LogLevel} from '../../workers/worker-pool.js'
import type {Threshold} from '../../metrics/thresholds.js'
import {deliveredCount, evaluateSimThresholds} from '../sim-thresholds.js'

/**
 * The fleet engine's main-thread half: shards devices over worker_threads, drives the stages (ramps, storms),
 * merges the workers' counters and HDR histograms once a second into a SimSnapshot, and returns the SimSummary.
 */

export interface FleetRunOptions {
  scenario: Scenario
  scenarioName: string
  devices: DeviceSpec[]
  brokerUrl: string
  /** Shown in the summary (a URL without secrets). */
  brokerLabel: string
  embeddedBroker: boolean
  workers?: number
  durationMs?: number
  messageLimit?: number
  sourceAddresses?: string[]
  labelsFile?: string
  onSnapshot?: (snapshot: SimSnapshot) => void
  onLog?: (message: string, level: 'info' | 'warn' | 'error') => void
  /** Aborting stops the run early (Ctrl-C); the summary is then marked interrupted. */
  signal?: AbortSignal
  /** How long a clean stop waits for in-flight QoS 1/2 acks. */
  drainMs?: number
  /** Judged at the end on the run's histograms and counters (`--threshold`). */
  thresholds?: readonly Threshold[]
  /**
   * Devices that run in this thread beside the workers (Sparkplug edge nodes): their rows join the fleets' in every
   * snapshot and in the summary, so the totals, the progress lines, the thresholds and `delivered` count them as
   * they count the workers' devices. They are stopped with the workers.
   */
  beside?: BesideDevices
}

/** Counters of devices run outside the workers, in the fleets' terms. */
export interface BesideDevices {
  /** One row per group, cumulative; `connected` is the gauge now (after stop(): as the run stopped). */
  rows(): FleetCounters[]
  /** Messages of these rows that reached the broker (written at QoS 0, acknowledged at QoS 1/2). */
  delivered(): number
  /** Ends them cleanly (their goodbyes are counted). */
  stop(): Promise<void>
}

const DEVICES_PER_WORKER = 2500
/** Messages per second one worker keeps on schedule with room to spare (QoS 0 telemetry; perf/RESULTS.md, issue #14). */
const MESSAGES_PER_WORKER = 150_000

/**
 * Workers: enough for the fleet's connections and for its message rate. Connections alone never take more than the
 * cores less one (the main thread has its own work while they connect); a rate one worker cannot keep may use every
 * core, since the main thread then only merges counters once a second.
 */
export function defaultWorkerCount(devices: number, messagesPerSec = 0, cores = availableParallelism()): number {
  const forConnections = Math.min(Math.max(1, cores - 1), Math.ceil(devices / DEVICES_PER_WORKER))
  const forRate = Math.min(cores, Math.ceil(messagesPerSec / MESSAGES_PER_WORKER))
  return Math.max(1, forConnections, forRate)
}

/** Messages per second the devices' schedules add up to. */
export function scheduledRate(devices: readonly DeviceSpec[]): number {
  let perSec = 0
  for (const d of devices) perSec += 1000 / d.everyMs
  return perSec
}

/** The stage plan: explicit stages, or one ramp to the whole fleet at the scenario's connect rate. */
export function planStages(scenario: Scenario, deviceCount: number): Array<{label: string; command?: StageCommand; holdMs: number}> {
  if (scenario.stages.length === 0) {
    const c = scenario.connect
    const overMs = 'over' in c ? c.over : (deviceCount / c.rate) * 1000
    return [{label: 'ramp', command: {kind: 'ramp', toShare: 1, overMs}, holdMs: overMs}]
  }
  return scenario.stages.map((stage) => {
    switch (stage.kind) {
      case 'ramp':
        return {label: `ramp to ${Math.round(stage.to * 100)}%`, command: {kind: 'ramp', toShare: stage.to, overMs: stage.over}, holdMs: stage.over}
      case 'storm':
        return {label: `storm ${Math.round(stage.drop * 100)}%`, command: {kind: 'storm', dropShare: stage.drop}, holdMs: 0}
      case 'steady':
        return {label: 'steady', holdMs: stage.for}
    }
  })
}

export async function runFleet(opts: FleetRunOptions): Promise<SimSummary> {
  const {scenario, devices} = opts
  const workerCount = Math.min(devices.length, opts.workers ?? defaultWorkerCount(devices.length, scheduledRate(devices)))
  const startEpochMs = Date.now()
  const warnings: string[] = []
  const log = (message: string, level: LogLevel = 'info') => {
    if (level === 'warn' && !warnings.includes(message)) warnings.push(message)
    opts.onLog?.(message, level)
  }
  const cores = availableParallelism()
  if (opts.workers !== undefined && opts.workers > devices.length && devices.length > 0) {
    log(`--workers ${opts.workers}: ${workerCount} worker${workerCount === 1 ? '' : 's'}, one per device (a worker needs a device to simulate)`)
  }
  if (opts.workers !== undefined && workerCount > 2 * cores) {
    // Each worker is a thread with its own event loop: past the cores they take turns, and the turns show as lag.
    log(`--workers ${opts.workers}: ${workerCount} workers on ${cores} cores take turns on them, which shows as publish lag and late messages; ${cores}–${2 * cores} workers use this machine fully`, 'warn')
  }

  // Deltas are summed into cumulative counters; per worker the latest stats give the gauges (connected) and the
  // latest rates (each over the worker's own interval, so drifting timers never show 0 or 2x the rate).
  const fleetNames = [...new Set(devices.map((d) => d.fleet))]
  const targets = new Map(fleetNames.map((f) => [f, devices.filter((d) => d.fleet === f).length]))
  const total = new Map(fleetNames.map((f) => [f, emptyCounters(f)]))
  const gauges = new Map<number, WorkerStats>()
  const histograms = new IntervalHistograms(['publishLag', 'ackLatency', 'connectLatency'] as const)
  const health = new HealthSampler()
  const labels = new LabelsFile(opts.labelsFile)

  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  // Once a second the workers are asked for their counters, and the live snapshot waits for every answer: what it
  // shows is what was published by its own elapsed time. (Reports on the workers' own timers left it up to a second
  // behind: "sim 2.0s" with 968 published at 993 msg/s.)
  // The round asked last and the workers that have not answered it yet: a late answer to an earlier round adds its
  // counters but does not stand in for this round's.
  let round = 0
  const unanswered = new Set<number>()
  let showSnapshot = (): void => {}
  const pool = new WorkerPool<WorkerSetup, ToWorker, FromWorker, WorkerStats>({
    entry: new URL('./worker-entry.js', import.meta.url),
    setups: shardDevices(opts, workerCount),
    start: (setup) => ({type: 'start', setup}),
    onStats(stats) {
      gauges.set(stats.workerId, stats)
      for (const c of stats.fleets) addCounters(total.get(c.fleet), c)
      histograms.add('publishLag', stats.publishLag)
      histograms.add('ackLatency', stats.ackLatency)
      histograms.add('connectLatency', stats.connectLatency)
      health.noteWorkerLag(stats.workerId, stats.eventLoopLagP99Ms, stats.eventLoopLagRunP99Ms)
      if (stats.round === round && unanswered.delete(stats.workerId) && unanswered.size === 0) showSnapshot()
    },
    onLog: log,
    onMessage(msg) {
      if (msg.type === 'labels') labels.append(msg.labels)
      else if (msg.type === 'limit-reached' && pool.received('limit-reached') === workerCount) finish()
    },
    onFatal: () => finish(),
  })

  // --- stages, snapshots, end conditions ------------------------------------------------------------------
  // The stage clock and the duration start once every worker is up (its modules loaded, its devices built): on a
  // busy machine that takes seconds, which must not come out of a `steady: {for: 1s}` before a storm.
  await pool.waitFor(() => pool.received('ready') === workerCount || opts.signal?.aborted === true)
  // The run's clock: the duration, the live elapsed time and the summary's rates all count from here, so a worker's
  // start-up (seconds on a busy machine) shows in none of them as time in which nothing was published.
  const runStartMono = performance.now()
  // connectAllMs counts from the first ramp up, when the first device is told to connect: not from the engine's start,
  // whose worker start-up made "all 2 connected in 330ms" stand beside "ran 101ms". The workers' times are epoch ms
  // on performance.timeOrigin + now, as this is.
  let firstRampEpochMs: number | undefined
  let stageLabel = 'starting'
  const timers = scheduleStages(scenario, devices.length, (stage) => {
    stageLabel = stage.label
    if (stage.command?.kind === 'ramp' && stage.command.toShare > 0) firstRampEpochMs ??= performance.timeOrigin + performance.now()
    if (stage.command) pool.broadcast({type: 'stage', stage: stage.command})
    if (scenario.stages.length > 0) log(`stage: ${stage.label}`)
  }, (label) => (stageLabel = label))
  if (opts.durationMs !== undefined) timers.push(setLongTimeout(finish, opts.durationMs))
  const onAbort = () => finish()
  opts.signal?.addEventListener('abort', onAbort, {once: true})
  if (opts.signal?.aborted) finish()

  const besideRates = new BesideRates(opts.beside)
  let lastHealth = {cpuPercent: 0, rssBytes: process.memoryUsage.rss(), eventLoopLagP99Ms: 0}
  let stopped = false
  showSnapshot = () => {
    unanswered.clear()
    if (stopped) return
    lastHealth = health.sample()
    const elapsedMs = performance.now() - runStartMono
    const fleets = [...fleetNames.map((f) => withGauges(total.get(f) ?? emptyCounters(f), targets.get(f) ?? 0, gauges)), ...besideRates.next(elapsedMs)]
    const snapshot: SimSnapshot = {
      elapsedMs,
      durationMs: opts.durationMs,
      broker: opts.brokerLabel,
      fleets,
      totals: sumRates('total', fleets),
      publishLag: figures(summarize(histograms.interval.publishLag)),
      ackLatency: figures(summarize(histograms.interval.ackLatency)),
      health: lastHealth,
      stage: stageLabel,
    }
    histograms.nextInterval()
    opts.onSnapshot?.(snapshot)
  }
  pool.tick(() => {
    // A worker too busy to answer within the second: the snapshot shows what the others said.
    if (unanswered.size > 0) showSnapshot()
    round++
    for (let w = 0; w < workerCount; w++) unanswered.add(w)
    pool.broadcast({type: 'report', round})
    // Without workers (only devices beside them) nobody answers: the snapshot is taken now.
    if (workerCount === 0) showSnapshot()
  })

  await finished
  stopped = true
  // The run ends at the stop: the clean stop's disconnects (up to drainMs) publish nothing and are not in its time.
  const stoppedMono = performance.now()
  for (const t of timers) t.clear()
  // A run that ended before its first snapshot still reports the client's health.
  if (lastHealth.cpuPercent === 0) lastHealth = health.sample()
  opts.signal?.removeEventListener('abort', onAbort)
  // A worker that does not finish its clean stop in time is terminated; its last interval is then lost.
  const drainMs = opts.drainMs ?? 3000
  // The devices beside the workers stop with them; their connections are taken as the run stopped, as the workers' are.
  const besideConnected = new Map(opts.beside?.rows().map((r) => [r.fleet, r.connected]))
  const [late] = await Promise.all([pool.stop({type: 'stop', drainMs}, drainMs + 5000), opts.beside?.stop()])
  if (late > 0 && !pool.fatal) log(`${late} of ${workerCount} workers did not finish their clean stop in time; their last second of counters is missing`, 'warn')
  const runHealth = health.runHealth()
  health.stop()
  const fatal = pool.fatal
  if (fatal) log(`a worker failed: ${fatal}`, 'error')

  // Connections as the run ended, before the clean stop disconnected everyone (from each worker's final stats).
  const fleets = fleetNames.map((f) => {
    let connected = 0
    for (const g of gauges.values()) connected += g.connectedAtStop?.[f] ?? g.fleets.find((row) => row.fleet === f)?.connected ?? 0
    return {...(total.get(f) ?? emptyCounters(f)), target: targets.get(f) ?? 0, connected}
  })
  const allConnected = [...gauges.values()].map((g) => g.allConnectedAtEpochMs)
  const qosByFleet = new Map(devices.map((d) => [d.fleet, d.qos]))
  const delivered = deliveredCount(fleets, (f) => qosByFleet.get(f) ?? 0) + (opts.beside?.delivered() ?? 0)
  // Whether the MQTT devices did what they were asked is theirs to say: the devices beside them are judged by their runner.
  const workerTotals = sumCounters('total', fleets)
  fleets.push(...(opts.beside?.rows().map((r) => ({...r, connected: besideConnected.get(r.fleet) ?? r.connected})) ?? []))
  const totals = sumCounters('total', fleets)
  const elapsedMs = stoppedMono - runStartMono
  const neverConnected = devices.length > 0 && histograms.run.connectLatency.totalCount === 0
  // Twice the shortest interval: every device's first message is due within one interval of its connect.
  const somethingFellDue = workerTotals.dropped > 0 || elapsedMs >= 2 * Math.min(...devices.map((d) => d.everyMs))
  const summary: SimSummary = {
    schemaVersion: 1,
    scenario: opts.scenarioName,
    seed: scenario.seed,
    broker: opts.brokerLabel,
    embeddedBroker: opts.embeddedBroker,
    startedAt: new Date(startEpochMs).toISOString(),
    elapsedMs,
    interrupted: opts.signal?.aborted ?? false,
    devices: devices.length,
    workers: workerCount,
    fleets,
    totals,
    publishLag: figures(summarize(histograms.run.publishLag)),
    ackLatency: figures(summarize(histograms.run.ackLatency)),
    connectAllMs: firstRampEpochMs !== undefined && workerCount > 0 && allConnected.length === workerCount && allConnected.every((t) => t !== undefined)
      ? Math.max(0, Math.max(...(allConnected as number[])) - firstRampEpochMs)
      : undefined,
    connectLatency: figures(summarize(histograms.run.connectLatency)),
    // The run's own figures, not its last second's.
    health: {...lastHealth, ...runHealth, peakRssBytes: health.peakRssBytes},
    labelsFile: labels.written > 0 ? opts.labelsFile : undefined,
    labels: labels.written,
    warnings,
    neverConnected,
    publishedNothing: !neverConnected && !fatal && workerTotals.published === 0 && workerTotals.suppressed === 0 && somethingFellDue,
    delivered,
    thresholds: opts.thresholds && opts.thresholds.length > 0
      ? evaluateSimThresholds(opts.thresholds, {totals, delivered, ...histograms.run})
      : undefined,
    error: fatal === undefined ? undefined : `a fleet worker failed: ${fatal}`,
  }
  histograms.destroy()
  return summary
}

/** The devices split over the workers in contiguous slices, with each worker's part of the message limit. */
function shardDevices(opts: FleetRunOptions, workerCount: number): WorkerSetup[] {
  const {devices} = opts
  const setups: WorkerSetup[] = []
  let offset = 0
  for (let w = 0; w < workerCount; w++) {
    const share = Math.floor(devices.length / workerCount) + (w < devices.length % workerCount ? 1 : 0)
    const slice = devices.slice(offset, offset + share)
    setups.push({
      workerId: w,
      scenario: opts.scenario,
      devices: slice,
      brokerUrl: opts.brokerUrl,
      messageLimit: opts.messageLimit === undefined ? undefined : shareOf(opts.messageLimit, offset, slice.length, devices.length),
      sourceAddresses: opts.sourceAddresses ?? [],
      firstOrdinal: offset,
    })
    offset += share
  }
  return setups
}

/**
 * What the live line says once the last stage is over and the fleet is left as it is. After a ramp or a hold the
 * fleet holds its connections: "steady". A storm takes no time, so a plan that ends with one is over the moment its
 * sockets are destroyed, while its victims are still reconnecting with backoff: "steady" there hid the storm the
 * run was made for (its own label was replaced at once), so the line names it: "after storm 30%".
 */
export function labelAfterStages(plan: ReadonlyArray<{label: string; command?: StageCommand}>): string {
  const last = plan.at(-1)
  return last?.command?.kind === 'storm' ? `after ${last.label}` : 'steady'
}

/** Arms one timer per stage (at its start) and one for the fleet's state after the last. */
function scheduleStages(scenario: Scenario, deviceCount: number, enter: (stage: {label: string; command?: StageCommand}) => void, after: (label: string) => void): LongTimer[] {
  const timers: LongTimer[] = []
  const plan = planStages(scenario, deviceCount)
  let at = 0
  for (const stage of plan) {
    timers.push(setLongTimeout(() => enter(stage), at))
    at += stage.holdMs
  }
  const label = labelAfterStages(plan)
  timers.push(setLongTimeout(() => after(label), at))
  return timers
}

/** The ground-truth labels file (JSON lines), truncated at the start of a run. */
class LabelsFile {
  written = 0
  constructor(private readonly path: string | undefined) {
    if (path) writeFileSync(path, '')
  }

  append(labels: AnomalyLabel[]): void {
    this.written += labels.length
    if (this.path && labels.length > 0) appendFileSync(this.path, labels.map((l) => JSON.stringify(l)).join('\n') + '\n')
  }
}

/** This worker's part of a fleet-wide total, split by device count so the parts add up to the total exactly. */
function shareOf(total: number, firstDevice: number, devices: number, allDevices: number): number {
  return Math.floor((total * (firstDevice + devices)) / allDevices) - Math.floor((total * firstDevice) / allDevices)
}

function addCounters(into: FleetCounters | undefined, c: FleetCounters): void {
  if (!into) return
  into.published += c.published
  into.acked += c.acked
  into.late += c.late
  into.suppressed += c.suppressed
  into.dropped += c.dropped
  into.errors += c.errors
  into.disconnects += c.disconnects
  into.reconnects += c.reconnects
  into.bytes += c.bytes
  if (c.unsent) into.unsent = (into.unsent ?? 0) + c.unsent
  into.commandsReceived += c.commandsReceived
  into.commandsApplied += c.commandsApplied
  into.commandsReplied += c.commandsReplied
  into.commandsReplyLost += c.commandsReplyLost
  into.commandsFailed += c.commandsFailed
  into.commandsIgnored += c.commandsIgnored
  if (c.commandsNotTaken !== undefined) into.commandsNotTaken = (into.commandsNotTaken ?? 0) + c.commandsNotTaken
}

/** Cumulative counters of a fleet with the latest gauges and rate: the sum over workers of their last report. */
function withGauges(c: FleetCounters, target: number, gauges: Map<number, WorkerStats>): FleetCounters & {msgRate: number} {
  let connected = 0
  let msgRate = 0
  for (const g of gauges.values()) {
    const row = g.fleets.find((f) => f.fleet === c.fleet)
    if (!row) continue
    connected += row.connected
    msgRate += g.intervalMs > 0 ? (row.published * 1000) / g.intervalMs : 0
  }
  return {...c, connected, target, msgRate}
}

/** The rows of the devices beside the workers for a snapshot, each with its rate over the interval since the last. */
class BesideRates {
  private before = new Map<string, number>()
  private beforeMs = 0
  constructor(private readonly beside: BesideDevices | undefined) {}

  next(elapsedMs: number): Array<FleetCounters & {msgRate: number}> {
    if (!this.beside) return []
    const seconds = (elapsedMs - this.beforeMs) / 1000
    const rows = this.beside.rows().map((r) => ({...r, msgRate: seconds > 0 ? (r.published - (this.before.get(r.fleet) ?? 0)) / seconds : 0}))
    this.before = new Map(rows.map((r) => [r.fleet, r.published]))
    this.beforeMs = elapsedMs
    return rows
  }
}

interface LongTimer {
  clear(): void
}

/** setTimeout for any delay: Node fires timers beyond 2^31-1 ms (24.8 days) at once, so long ones are re-armed. */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  const MAX = 2 ** 31 - 1
  let timer: NodeJS.Timeout
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX ? arm(left - MAX) : fn()), Math.min(left, MAX))
  }
  arm(ms)
  return {clear: () => clearTimeout(timer)}
}

function sumCounters(name: string, rows: FleetCounters[]): FleetCounters {
  const out = emptyCounters(name)
  for (const r of rows) {
    addCounters(out, r)
    out.connected += r.connected
    out.target += r.target
  }
  return out
}

function sumRates(name: string, rows: Array<FleetCounters & {msgRate: number}>): FleetCounters & {msgRate: number} {
  return {...sumCounters(name, rows), msgRate: rows.reduce((s, r) => s + r.msgRate, 0)}
}

function figures(s: LatencySummary): LatencyFigures {
  return {count: s.count, p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, max: s.max}
}

